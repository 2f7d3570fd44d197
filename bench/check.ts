// `npm run bench:check`: how long `node-red-ha check` takes on large, realistic flows files
// (test/fixtures/check/generate.ts), in the library (parse + check) and end to end through the CLI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkFlows } from '../lib/check';
import { generateFlows } from '../test/fixtures/check/generate';

const SIZES = [1000, 5000, 20000];
const RUNS = 25;
const CLI_RUNS = 5;
const CLI = path.join(__dirname, '..', 'dist', 'bin', 'node-red-ha.js');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const max = (values: number[]) => Math.max(...values);
function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-bench-check-'));
const hasCli = fs.existsSync(CLI);
const rows: string[][] = [];
try {
  // Warm the JIT on a mid-sized file so the first row is not all compile time.
  checkFlows(generateFlows(2000).flows);
  for (const size of SIZES) {
    const { flows } = generateFlows(size);
    const json = JSON.stringify(flows);
    const file = path.join(dir, `flows-${size}.json`);
    fs.writeFileSync(file, json);
    const parse: number[] = [];
    const check: number[] = [];
    let findings = 0;
    for (let i = 0; i < RUNS; i++) {
      let value: unknown;
      parse.push(time(() => { value = JSON.parse(json); }));
      check.push(time(() => { findings = checkFlows(value).findings.length; }));
    }
    const cli: number[] = [];
    for (let i = 0; hasCli && i < CLI_RUNS; i++) {
      cli.push(time(() => spawnSync(process.execPath, [CLI, 'check', file, '--json'], { stdio: 'ignore' })));
    }
    rows.push([
      String(flows.length), `${(json.length / 1024).toFixed(0)} KiB`, String(findings),
      median(parse).toFixed(1), median(check).toFixed(1), max(check).toFixed(1),
      hasCli ? median(cli).toFixed(0) : 'n/a (npm run build)',
    ]);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

const headers = ['nodes', 'file', 'findings', 'JSON.parse ms (median)', 'checkFlows ms (median)', `checkFlows ms (max of ${RUNS})`, `CLI end to end ms (median of ${CLI_RUNS})`];
const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
console.log(`node-red-ha check, ${os.cpus().length} cores (${os.cpus()[0]?.model?.trim() ?? 'unknown CPU'}), Node ${process.version}\n`);
console.log([line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n'));
