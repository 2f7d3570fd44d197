import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One wrk run's result. */
export interface WrkResult {
  /** Completed requests per second (2xx and 3xx only). */
  rps: number;
  requests: number;
  /** Connect/read/write errors, timeouts and non-2xx/3xx answers. */
  errors: number;
  /** Latency percentiles, milliseconds. */
  p50: number;
  p99: number;
}

export interface WrkOptions {
  /** Open connections (all on one wrk thread: wrk's own CPU stays small on 2 cores). @default 16 */
  connections?: number;
  /** Seconds. */
  seconds: number;
}

// wrk's Lua `done` hook prints the summary as one JSON line, so nothing depends on its text layout.
const SUMMARY_SCRIPT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nWRK_JSON {"requests":%d,"durationUs":%d,"errors":%d,"status":%d,"p50":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`;

let scriptFile: string | undefined;

/** The wrk executable, or an error that says how to install it. */
export function requireWrk(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat('/usr/bin', '/usr/local/bin')) {
    const candidate = path.join(dir, 'wrk');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('wrk is not installed: the HTTP benchmarks use it as the load generator; install it with `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`');
}

/** Runs wrk against `url` for `seconds` and returns the parsed summary. */
export function wrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const binary = requireWrk();
  if (!scriptFile) {
    scriptFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-bench-wrk-')), 'summary.lua');
    fs.writeFileSync(scriptFile, SUMMARY_SCRIPT);
    process.once('exit', () => fs.rmSync(path.dirname(scriptFile!), { recursive: true, force: true }));
  }
  const connections = options.connections ?? 16;
  const args = ['-t1', `-c${connections}`, `-d${options.seconds}s`, '--timeout', '10s', '-s', scriptFile, url];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = /WRK_JSON (\{.*\})/.exec(out);
      if (code !== 0 || !line) return reject(new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${out}`));
      const summary = JSON.parse(line[1]) as { requests: number; durationUs: number; errors: number; status: number; p50: number; p99: number };
      const ok = summary.requests - summary.status;
      resolve({
        rps: ok / (summary.durationUs / 1e6),
        requests: summary.requests,
        errors: summary.errors,
        p50: summary.p50 / 1000,
        p99: summary.p99 / 1000,
      });
    });
  });
}
