// Log shipping overhead (`tsx bench/logs.ts`, or a section of `npm run bench`): what shipping log
// entries to Redis costs a busy flow. Two real Node-RED replicas in HA mode run the same flow, one
// with NR_HA_REDIS_URL (entries shipped to the instance stream) and one without (entries kept in
// the local ring only). Runs alternate between the two so load from anything else on the machine
// hits both alike; CPU is the Node-RED process's own, from /proc.
import { NodeRed } from '../test/harness/node-red';
import { RedisServer } from '../test/harness/redis';
import type { BenchSection } from './lib/report';
import { BUSY_FLOW } from './lib/flows';
import { closeAll, count, cpuMs, ensureTemplate, loadAverage, median, runAlone } from './lib/setup';

const QUICK = process.env.BENCH_QUICK === '1';
const MESSAGES = QUICK ? 5000 : 20_000;
const REQUESTS = QUICK ? 1000 : 4000;
const CLIENTS = 32;
const RUNS = QUICK ? 3 : 5;

interface Run {
  /** Wall time, milliseconds. */
  wallMs: number;
  /** CPU time the Node-RED process used, milliseconds (user + system, from /proc). */
  cpuMs: number;
}

async function measure(nr: NodeRed, work: () => Promise<void>): Promise<Run> {
  const cpu = cpuMs(nr.proc.child.pid!);
  const start = process.hrtime.bigint();
  await work();
  return { wallMs: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: cpuMs(nr.proc.child.pid!) - cpu };
}

async function get(nr: NodeRed, urlPath: string): Promise<void> {
  const res = await fetch(nr.url + urlPath);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`bench request failed: ${res.status} ${text}`);
}

/** One request fans out `n` messages inside the flow: a single event-loop burst of work (and log lines). */
const burst = (nr: NodeRed, log: boolean, n = MESSAGES) => measure(nr, () => get(nr, `/work?n=${n}&log=${log ? 1 : 0}`));

/** `REQUESTS` HTTP requests from `CLIENTS` concurrent keep-alive clients, one message each. */
const requests = (nr: NodeRed, log: boolean, total = REQUESTS) => measure(nr, async () => {
  let next = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next++ < total) await get(nr, `/work?n=1&log=${log ? 1 : 0}`);
  }));
});

async function metric(nr: NodeRed, name: string): Promise<number> {
  const text = (await nr.request('GET', '/ha/metrics')).text;
  const match = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

export async function logsBench(): Promise<BenchSection[]> {
  ensureTemplate();
  const loadBefore = loadAverage();
  const redis = await RedisServer.start();
  const env = (replica: string, redisUrl?: string) => ({
    NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'bench', NR_HA_REPLICA: replica, ...(redisUrl ? { NR_HA_REDIS_URL: redisUrl } : {}),
  });
  let off: NodeRed | undefined;
  let on: NodeRed | undefined;
  try {
    [off, on] = await Promise.all([
      NodeRed.start({ name: 'shipping-off', env: env('off'), flows: BUSY_FLOW, waitFor: /Started flows/ }),
      NodeRed.start({ name: 'shipping-on', env: env('on', redis.url), flows: BUSY_FLOW, waitFor: /Started flows/ }),
    ]);
    const shipping = on;
    const drained = async () => {
      for (let i = 0; i < 200 && await metric(shipping, 'nrha_log_buffer_entries') > 0; i++) await new Promise((r) => setTimeout(r, 50));
    };
    const scenarios = [
      { name: `HTTP: ${count(REQUESTS)} requests, ${CLIENTS} clients`, count: REQUESTS, run: requests },
      { name: `1 request fans out ${count(MESSAGES)} msgs`, count: MESSAGES, run: burst },
    ];
    const rows: string[][] = [];
    for (const scenario of scenarios) {
      for (const log of [true, false]) {
        for (const nr of [off, on]) await scenario.run(nr, log, Math.ceil(scenario.count / 10));
        await drained();
        const droppedBefore = await metric(on, 'nrha_log_entries_dropped_total');
        const runs: Record<'off' | 'on', Run[]> = { off: [], on: [] };
        for (let i = 0; i < RUNS; i++) {
          runs.off.push(await scenario.run(off, log));
          runs.on.push(await scenario.run(on, log));
        }
        await drained();
        const dropped = await metric(on, 'nrha_log_entries_dropped_total') - droppedBefore;
        const cpu = (mode: 'off' | 'on') => median(runs[mode].map((r) => r.cpuMs));
        const perMsg = (mode: 'off' | 'on') => `${((cpu(mode) * 1000) / scenario.count).toFixed(1)} µs`;
        const rate = (mode: 'off' | 'on') => count(scenario.count / (median(runs[mode].map((r) => r.wallMs)) / 1000));
        const logged = log ? RUNS * scenario.count : 0;
        rows.push([
          scenario.name, log ? '1 per msg' : 'none', perMsg('off'), perMsg('on'),
          `${cpu('on') >= cpu('off') ? '+' : ''}${(((cpu('on') - cpu('off')) / cpu('off')) * 100).toFixed(1)}%`,
          `${rate('off')} / ${rate('on')}`,
          logged ? `${count(dropped)} of ${count(logged)}` : '-',
        ]);
      }
    }
    return [{
      title: 'Log shipping overhead',
      method: `The same flow on two HA replicas, log shipping off (no Redis) and on (Redis stream), runs alternating, median of ${RUNS}. ` +
        'A function node handles each message; with logging it calls node.warn once per message. CPU is the Node-RED process\'s (user + system).',
      headers: ['flow', 'log lines', 'CPU per msg, off', 'CPU per msg, on', 'CPU difference', 'msgs/s off / on', 'entries dropped'],
      rows,
      notes: [
        'The rows without log lines ship nothing: their difference is the noise of the run.',
        'A flow that logs more than the buffer holds (20,000 entries or 16 MiB) within one event-loop turn drops the oldest entries of that burst (counted in nrha_log_entries_dropped_total); console output keeps every line.',
        `Load average before / after: ${loadBefore} / ${loadAverage()}.`,
      ],
    }];
  } finally {
    await closeAll([off, on, redis]);
  }
}

if (require.main === module) runAlone(logsBench);
