// CPU profiles of a benchmarked Node-RED process, for the share of its CPU that one package's code
// takes. Unlike a throughput ratio between two processes, a share of one profile's samples hardly
// moves with other load on the machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeRed } from '../../test/harness/node-red';

const PRELOAD = path.join(__dirname, 'profile-preload.js');

/** Environment for NodeRed.start that lets `profile` record this process; `file` receives the profile. */
export function profilerEnv(file: string): Record<string, string> {
  return { NODE_OPTIONS: `--require ${JSON.stringify(PRELOAD)}`, NRHA_BENCH_PROFILE: file };
}

/** A fresh file name for profilerEnv; `profile` removes the file once read. */
export function profileFile(name: string): string {
  return path.join(os.tmpdir(), `nrha-bench-${name}-${process.pid}-${Date.now()}.cpuprofile`);
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[] }

/** Records `nr` (started with profilerEnv(file)) while `work` runs. */
export async function profile(nr: NodeRed, file: string, work: () => Promise<void>): Promise<Profile> {
  fs.rmSync(file, { force: true });
  const pid = nr.proc.child.pid!;
  process.kill(pid, 'SIGWINCH');
  await new Promise((resolve) => setTimeout(resolve, 200));
  await work();
  process.kill(pid, 'SIGWINCH');
  for (let waited = 0; !fs.existsSync(file); waited += 100) {
    if (waited > 10_000) throw new Error(`no CPU profile from ${nr.proc.name} in ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.rmSync(file, { force: true });
  if (parsed.error) throw new Error(`CPU profile of ${nr.proc.name} failed: ${parsed.error}`);
  return parsed as Profile;
}

/** Entries V8 shows for time that is no function's: not counted as busy, or as nobody's. */
const NOT_CODE = new Set(['(idle)', '(program)', '(garbage collector)']);

/**
 * Percentage of the busy (non-idle) samples spent in code whose script URL matches `code`: its own
 * functions plus the built-ins they called directly (JSON.stringify, string and buffer
 * operations have no URL of their own), not what they called in other scripts.
 */
export function selfShare(result: Profile, code: RegExp): number {
  const byId = new Map(result.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of result.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  let busy = 0;
  let matched = 0;
  for (const id of result.samples) {
    let node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    busy++;
    if (NOT_CODE.has(node.callFrame.functionName)) continue;
    while (node && node.callFrame.url === '') node = byId.get(parent.get(node.id) ?? -1);
    if (node && code.test(node.callFrame.url)) matched++;
  }
  return busy ? (matched / busy) * 100 : NaN;
}
