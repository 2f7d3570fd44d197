import type { Command } from 'commander';
import type { StatusReport } from '../runtime/replica';
import { getHA } from './ha-api';

/** The replica table as text: a summary line, then one aligned row per replica. */
export function formatStatus(report: StatusReport, now = Date.now()): string {
  const summary = `instance ${report.instance ?? '(HA off)'}  leader ${report.leader ?? 'none'}  revision ${report.revision ?? '-'}`;
  const rows = [
    ['REPLICA', 'READY', 'LEADER', 'REVISION', 'LAST SEEN'],
    ...report.replicas.map((r) => [
      r.id,
      r.ready ? 'yes' : 'no',
      r.leader ? 'leader' : '-',
      r.revision === null ? '-' : String(r.revision),
      `${r.lastSeen} (${Math.max(0, Math.round((now - Date.parse(r.lastSeen)) / 1000))} s ago)`,
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const table = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  return [summary, '', ...table].join('\n');
}

/** `node-red-ha status --url URL [--token T] [--json]`. */
export function register(program: Command): void {
  program.command('status')
    .description('the replica table: ready, leader, revision and last seen of every replica')
    .requiredOption('--url <url>', 'admin URL of any replica (with httpAdminRoot)')
    .option('--token <token>', 'bearer token (default: $NR_HA_SYNC_TOKEN)')
    .option('--json', 'the /ha/status answer as JSON')
    .action(async (options: { url: string; token?: string; json?: boolean }) => {
      const report: StatusReport = await getHA({ url: options.url, token: options.token ?? process.env.NR_HA_SYNC_TOKEN }, 'status');
      process.stdout.write((options.json ? JSON.stringify(report, null, 2) : formatStatus(report)) + '\n');
    });
}
