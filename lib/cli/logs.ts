import type { Command } from 'commander';
import { formatEntryLine, LogEntry } from '../logs/entry';
import { LogPage, parseLogQuery } from '../logs/query';
import { getHA } from './ha-api';

export interface LogsOptions {
  /** Admin URL of any replica. @default "http://127.0.0.1:1880" */
  url: string;
  /** Only these replicas, comma-separated. @default every replica */
  replica?: string;
  /** This level and more severe. @default every level */
  level?: string;
  /** Duration back from now (10m) or a time. @default no limit */
  since?: string;
  /** Only lines containing this text (any case). @default no filter */
  grep?: string;
  /** Lines shown first. @default 100 */
  limit?: string;
  /** Keep printing new lines. @default false */
  follow?: boolean;
  /** One JSON object per line. @default false */
  json?: boolean;
  /** Bearer token. @default $NR_HA_SYNC_TOKEN */
  token?: string;
  /** Pause between polls with --follow, in milliseconds. @default 1000 */
  interval?: string;
}

type Page = LogPage & { source: 'redis' | 'local'; warning?: string };

/** Prints the combined logs; with `follow`, keeps polling with the cursor until the process is stopped. */
export async function printLogs(options: LogsOptions, out: (line: string) => void, err: (line: string) => void): Promise<void> {
  const raw: Record<string, string | undefined> = {
    replica: options.replica, level: options.level, q: options.grep, limit: options.limit,
  };
  // A relative --since is fixed once, so a --follow session does not move its own window.
  if (options.since !== undefined) raw.since = String(parseLogQuery({ since: options.since }).since);
  const query = new URLSearchParams(Object.entries(raw).filter((kv): kv is [string, string] => kv[1] !== undefined));
  parseLogQuery(Object.fromEntries(query));
  const target = { url: options.url, token: options.token ?? process.env.NR_HA_SYNC_TOKEN };
  const print = (entry: LogEntry) => out(options.json ? JSON.stringify(entry) : formatEntryLine(entry));
  const noteSource = (page: Page) => {
    if (page.warning) err(`note: ${page.warning}`);
    else if (page.source === 'local') err('note: that replica has no shared log (NR_HA_REDIS_URL unset): showing its own entries only');
  };

  let page: Page = await getHA(target, 'logs', query);
  noteSource(page);
  page.entries.forEach(print);
  if (!options.follow) return;
  const interval = Number(options.interval ?? 1000);
  let cursor = page.cursor;
  query.set('limit', '1000');
  for (;;) {
    if (!page.more) await new Promise((resolve) => setTimeout(resolve, interval));
    if (cursor !== null) query.set('after', cursor);
    page = await getHA(target, 'logs', query);
    page.entries.forEach(print);
    cursor = page.cursor ?? cursor;
  }
}

/** `node-red-ha logs [--url URL] [--replica R] [--level L] [--since 10m] [--grep S] [--follow] [--json] [--token T]`. */
export function register(program: Command): void {
  program.command('logs')
    .description('combined logs of all replicas, each line tagged with its replica, oldest first')
    .option('--url <url>', 'admin URL of any replica (with httpAdminRoot)', 'http://127.0.0.1:1880')
    .option('--replica <ids>', 'only these replicas (comma-separated)')
    .option('--level <level>', 'this level and more severe: fatal, error, warn, info, debug, trace')
    .option('--since <when>', 'from this long ago (90s, 10m, 2h, 1d) or this ISO time')
    .option('--grep <text>', 'only lines whose message or node contains this text (any case)')
    .option('--limit <n>', 'lines to show first (1-1000)', '100')
    .option('-f, --follow', 'keep printing new lines as they come')
    .option('--json', 'one JSON object per line')
    .option('--token <token>', 'bearer token (default: $NR_HA_SYNC_TOKEN)')
    .option('--interval <ms>', 'pause between polls with --follow', '1000')
    .action((options: LogsOptions) => printLogs(options, (line) => process.stdout.write(line + '\n'), (line) => process.stderr.write(line + '\n')));
}
