import type { Command } from 'commander';
import { checkFlows, formatText, summaryLine } from '../check';
import { DEFAULT_SINGLETON_TYPES } from '../config';
import { HAError } from '../errors';
import type { RolloutStatus } from '../sync/rollout-status';

/** Options of {@link push}, as the command line gives them. */
export interface PushOptions {
  /** Admin URL of the development instance (its httpAdminRoot). */
  from: string;
  /** Admin URL of the HA instance, usually its load balancer. */
  to: string;
  /** NR_HA_SYNC_TOKEN of the HA instance. @default $NR_HA_SYNC_TOKEN */
  token?: string;
  /** Bearer token for reading the development instance. @default none */
  fromToken?: string;
  /** Push even when the readiness check reports errors. @default false */
  force?: boolean;
  /** Longest wait for the rollout, in milliseconds. @default 300000 */
  timeoutMs?: number;
  /** Node types the HA instance lets only the leader emit. @default $NR_HA_SINGLETON_TYPES or ["inject"] */
  singletonTypes?: string[];
  /** Time between rollout status requests. @default 500 */
  pollMs?: number;
}

/** A push that did not end with every live replica on the new revision; the message says why. */
export class PushError extends HAError {
  constructor(message: string) {
    super('ha_push_failed', message);
  }
}

/** Where the command's lines go; the tests collect them. */
export type Print = (line: string) => void;

/** How many status requests in a row may fail (e.g. a replica restarting behind the balancer). */
const TOLERATED_POLL_FAILURES = 10;

/**
 * Snapshot from the development instance, readiness check, POST /ha/sync, then follow the
 * rollout until every live replica runs the new revision. Resolves with the revision; throws
 * PushError with the reason otherwise.
 */
export async function push(options: PushOptions, print: Print): Promise<number> {
  const snapshot = await request('GET', options.from, 'ha/snapshot', options.fromToken);
  if (snapshot.status !== 200) throw new PushError(`could not read the flows of ${options.from}: ${describeFailure(snapshot)}`);
  const { flows, credentials } = snapshot.body as { flows: unknown; credentials: unknown };

  const report = checkFlows(flows as never, { singletonTypes: options.singletonTypes ?? DEFAULT_SINGLETON_TYPES });
  print(report.findings.length ? formatText(report).trimEnd() : `readiness check: ${summaryLine(report)}`);
  if (report.summary.errors > 0) {
    if (!options.force) throw new PushError(`push refused: the readiness check found ${report.summary.errors} error(s); fix them or push with --force`);
    print(`pushing despite ${report.summary.errors} error(s) (--force)`);
  }

  const sync = await request('POST', options.to, 'ha/sync', options.token, { flows, credentials });
  if (sync.status !== 202 && sync.status !== 200) throw new PushError(`${options.to} refused the push: ${describeFailure(sync)}`);
  const { revision, from, unchanged } = sync.body as { revision: number; from?: number | null; unchanged?: boolean };
  print(unchanged
    ? `${options.to} already has these flows as revision ${revision}; checking that every replica runs it`
    : `revision ${revision} stored on ${options.to} (was ${from ?? 'none'}); rolling out one replica at a time`);
  return follow(options, revision, print);
}

async function follow(options: PushOptions, revision: number, print: Print): Promise<number> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const seen = new Map<string, string>();
  let failures = 0;
  let last: RolloutStatus | undefined;
  while (Date.now() < deadline) {
    const res = await request('GET', options.to, `ha/sync/${revision}`, options.token).catch((err: Error) => ({ status: 0, body: { message: err.message } }));
    if (res.status !== 200) {
      if (++failures > TOLERATED_POLL_FAILURES) throw new PushError(`lost track of the rollout: ${describeFailure(res)}`);
    } else {
      failures = 0;
      last = res.body as RolloutStatus;
      for (const line of progressLines(seen, last)) print(line);
      if (last.state === 'done') {
        print(`revision ${revision} runs on every live replica (${last.replicas.length})`);
        return revision;
      }
      if (last.state === 'failed') {
        throw new PushError(`rollout of revision ${revision} stopped: ${last.reason}; the instance went back to revision ${last.head ?? last.from}`);
      }
      if (last.state === 'superseded') throw new PushError(`rollout of revision ${revision} stopped: ${last.reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
  const behind = last?.replicas.filter((r) => r.revision !== revision).map((r) => `${r.id} runs ${r.revision ?? 'nothing'} (${r.phase})`);
  throw new PushError(`revision ${revision} is not on every live replica after ${Math.round((options.timeoutMs ?? 300_000) / 1000)} s${behind?.length ? `: ${behind.join(', ')}` : ''}`);
}

/**
 * One line per replica whose revision or phase changed since the last status; replicas that
 * finished come before those that started, so the lines read one replica at a time.
 */
export function progressLines(seen: Map<string, string>, status: RolloutStatus): string[] {
  const lines: string[] = [];
  const finished: string[] = [];
  for (const replica of status.replicas) {
    const line = replica.phase === 'running'
      ? `  ${replica.id}: running revision ${replica.revision ?? 'none'}${replica.revision === status.revision ? ' (done)' : ''}`
      : `  ${replica.id}: ${replica.phase}${replica.revision === null ? '' : ` (ran revision ${replica.revision})`}`;
    if (seen.get(replica.id) !== line) (replica.phase === 'running' ? finished : lines).push(line);
    seen.set(replica.id, line);
  }
  return [...finished, ...lines];
}

interface Reply {
  status: number;
  body: unknown;
}

async function request(method: string, base: string, path: string, token?: string, body?: unknown): Promise<Reply> {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        Accept: 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new PushError(`cannot reach ${url.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: res.status, body: parsed };
}

function describeFailure({ status, body }: Reply): string {
  if (status === 401) return '401 unauthorized: pass the instance\'s NR_HA_SYNC_TOKEN with --token';
  const b = body as { message?: string; problems?: string[] } | string;
  if (typeof b === 'string') return `${status} ${b.slice(0, 200)}`;
  const problems = b?.problems?.length ? `\n  - ${b.problems.join('\n  - ')}` : '';
  return `${status} ${b?.message ?? ''}${problems}`;
}

/** `node-red-ha push --from URL --to URL [--token T] [--force]`. */
export function register(program: Command): void {
  program.command('push')
    .description('ship the flows of a development instance to an HA instance: check, sync, follow the rollout')
    .requiredOption('--from <url>', 'admin URL of the development instance')
    .requiredOption('--to <url>', 'admin URL of the HA instance (its load balancer)')
    .option('--token <token>', 'NR_HA_SYNC_TOKEN of the HA instance (default: $NR_HA_SYNC_TOKEN)')
    .option('--from-token <token>', 'bearer token for reading the development instance')
    .option('--force', 'push even if the readiness check reports errors')
    .option('--timeout <seconds>', 'longest wait for the rollout', '300')
    .action(async (args: { from: string; to: string; token?: string; fromToken?: string; force?: boolean; timeout: string }) => {
      const timeout = Number(args.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new PushError(`--timeout must be a positive number of seconds, got "${args.timeout}"`);
      const singleton = process.env.NR_HA_SINGLETON_TYPES;
      try {
        await push({
          from: args.from,
          to: args.to,
          token: args.token ?? process.env.NR_HA_SYNC_TOKEN,
          fromToken: args.fromToken,
          force: args.force,
          timeoutMs: timeout * 1000,
          singletonTypes: singleton === undefined ? undefined : singleton === 'none' ? [] : singleton.split(',').map((s) => s.trim()).filter(Boolean),
        }, (line) => console.log(line));
      } catch (err) {
        if (!(err instanceof PushError)) throw err;
        console.error(`node-red-ha push: ${err.message}`);
        process.exitCode = 1;
      }
    });
}
