import type { Command } from 'commander';
import { parseConfig } from '../config';
import { checkFlows, formatJson, formatText, readFlowsFile } from '../check';
import { FlowsFileError } from '../errors';

/** Exit codes of `check`: documented in the README, relied on by pipelines. */
export const CHECK_EXIT = { ok: 0, errors: 1, invalidFile: 2 } as const;

/** `node-red-ha check flows.json [--json] [--singleton-types list]` */
export function register(program: Command): void {
  program
    .command('check')
    .description('HA-readiness report for a flows file; exit 1 when it finds errors, 2 when the file is not a flows export')
    .argument('<flows>', 'flows file: an array of nodes, or {"flows": [...]}')
    .option('--json', 'print the report in the stable JSON format')
    .option('--singleton-types <types>', 'node types only the leader emits, comma-separated or "none" (default: NR_HA_SINGLETON_TYPES, else "inject")')
    .action((file: string, options: { json?: boolean; singletonTypes?: string }) => {
      process.exitCode = runCheck(file, options);
    });
}

function runCheck(file: string, options: { json?: boolean; singletonTypes?: string }): number {
  // The same parsing as the replicas use, so the check sees what they will gate.
  const { singletonTypes } = parseConfig({
    env: { NR_HA_SINGLETON_TYPES: options.singletonTypes ?? process.env.NR_HA_SINGLETON_TYPES },
    hostname: 'check',
  });
  let report;
  try {
    const flows = readFlowsFile(file);
    try {
      report = checkFlows(flows, { singletonTypes });
    } catch (err) {
      throw err instanceof FlowsFileError ? new FlowsFileError(`${file}: ${err.message}`) : err;
    }
  } catch (err) {
    if (!(err instanceof FlowsFileError)) throw err;
    if (options.json) process.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message } }, null, 2) + '\n');
    process.stderr.write(`node-red-ha check: ${err.message}\n`);
    return CHECK_EXIT.invalidFile;
  }
  process.stdout.write(options.json ? formatJson(report, file) : formatText(report));
  return report.summary.errors > 0 ? CHECK_EXIT.errors : CHECK_EXIT.ok;
}
