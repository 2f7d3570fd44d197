// What the bench sections share: real Node-RED processes (plain, with the package, behind
// `node-red-ha start`), CPU time from /proc, and the statistics the tables report.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeRed, NodeRedOptions } from '../../test/harness/node-red';
import { prepareTemplate, REPO_ROOT } from '../../test/harness/package';
import { freePort } from '../../test/harness/ports';
import { Proc } from '../../test/harness/process';
import { BenchSection, machine, renderSection } from './report';

const CLI = path.join(REPO_ROOT, 'dist', 'bin', 'node-red-ha.js');

/**
 * Makes the user-dir template (node-red-ha installed from `npm pack`) once per process and
 * removes it on exit; bench/run.ts calls it before the sections so they share one.
 */
export function ensureTemplate(): void {
  if (process.env.NR_HA_TEST_TEMPLATE) return;
  const dir = prepareTemplate();
  process.env.NR_HA_TEST_TEMPLATE = dir;
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
}

/**
 * Settings that make plain Node-RED serve HTTP like an HA replica: withHA turns the editor off in HA
 * mode, and with it on every request to an http-in route first passes the editor's middleware.
 */
export const EDITOR_OFF = { disableEditor: true };

/** Plain Node-RED: a user dir without node-red-ha and unwrapped settings (the baseline). */
export function startPlainNodeRed(options: NodeRedOptions): Promise<NodeRed> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-bench-plain-'));
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
  return NodeRed.start({ ...options, userDir, wrap: false });
}

/** `node-red-ha start` with N replicas as a user runs it, on a free port. */
export class Launcher {
  private constructor(readonly proc: Proc, readonly port: number, private readonly dir: string) {}

  static async start(options: { replicas: number; flows: unknown[]; instance: string; env: Record<string, string> }): Promise<Launcher> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-bench-launcher-'));
    const flowsFile = path.join(dir, 'flows.json');
    fs.writeFileSync(flowsFile, JSON.stringify(options.flows));
    const port = await freePort();
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NR_HA_')));
    const proc = new Proc(`launcher:${options.instance}`, process.execPath, [
      CLI, 'start', flowsFile, '--replicas', String(options.replicas), '--port', String(port),
      '--user-dir', path.join(dir, 'run'), '--instance', options.instance, '--stop-timeout', '5',
    ], { cwd: REPO_ROOT, env: { ...env, ...options.env } });
    const launcher = new Launcher(proc, port, dir);
    try {
      await proc.waitForLine(/\[launcher\] all \d+ replicas ready/, 120_000);
    } catch (err) {
      await launcher.close();
      throw err;
    }
    return launcher;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The replicas' pids, from the launcher's "replica … started pid N" lines. */
  replicaPids(): number[] {
    return this.proc.lines.flatMap((line) => {
      const match = /\[launcher\] replica \S+ started pid (\d+)/.exec(line);
      return match ? [Number(match[1])] : [];
    });
  }

  /** Stops the launcher (it stops its replicas) and removes its folder. */
  async close(): Promise<void> {
    await this.proc.stop('SIGTERM', 15_000);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** CPU time a process has used so far, milliseconds (user + system from /proc; Linux). */
export function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** 1234.5 -> "1,235" */
export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** The load average now, for the tables' notes: the machine may be shared. */
export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(', ');
}

/** Closes everything in `closers`, even if some fail. */
export async function closeAll(closers: Array<{ close(): Promise<void> } | undefined>): Promise<void> {
  await Promise.allSettled(closers.map((c) => c?.close()));
}

/** Runs a bench section when its file is started directly (`tsx bench/http.ts`) and prints its tables. */
export function runAlone(section: () => Promise<BenchSection[]>): void {
  section().then((sections) => {
    console.log(`Machine: ${machine()}\n`);
    console.log(sections.map(renderSection).join('\n\n'));
    process.exit(0);
  }, (err) => {
    console.error(err);
    process.exit(1);
  });
}
