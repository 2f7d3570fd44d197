// Section 4, shared context: get/set through the `ha` context store (node-red-ha/context) with the
// calls Node-RED makes (async get/set with a callback, sync get from the replica's copy), against
// raw ioredis GET/SET on the same Redis and against Node-RED's own memory store.
import Redis from 'ioredis';
import { RedisContextStore } from '../lib/context/store';
import { RedisServer } from '../test/harness/redis';
import { BenchSection, machine, percentile, ratio } from './lib/report';
import { closeAll, count, loadAverage, median, runAlone } from './lib/setup';

// Node-RED's memory context store, as its runtime loads it for `contextStorage: { memory: { module: 'memory' } }`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const memoryStore = require('@node-red/runtime/lib/nodes/context/memory') as (config: object) => ContextStore;

const QUICK = process.env.BENCH_QUICK === '1';
/** Operations timed one at a time, for the latency percentiles. */
const SEQUENTIAL = QUICK ? 1000 : 4000;
/** Operations for the throughput figure, IN_FLIGHT at a time. */
const CONCURRENT = QUICK ? 5000 : 20_000;
const IN_FLIGHT = 32;
/** Synchronous reads for the sync throughput figure (they take microseconds). */
const SYNC_OPS = 200_000;
const ROUNDS = 3;
const KEYS = 100;
const SCOPE = 'global';
const VALUE = { count: 42, name: 'sensor-7', tags: ['a', 'b'], at: '2026-11-29T20:00:00.000Z' };

type Callback = (err?: Error | null, ...values: unknown[]) => void;
/** The part of Node-RED's context store API the runtime calls for get and set. */
interface ContextStore {
  open(): Promise<void>;
  close(): Promise<void>;
  get(scope: string, key: string, callback?: Callback): unknown;
  set(scope: string, key: string, value: unknown, callback?: Callback): void;
}

/** One async operation on key number `i`. */
type AsyncOp = (i: number) => Promise<unknown>;

const callbackGet = (store: ContextStore): AsyncOp => (i) => new Promise((resolve, reject) => {
  store.get(SCOPE, `k${i % KEYS}`, (err, value) => (err ? reject(err) : resolve(value)));
});
const callbackSet = (store: ContextStore): AsyncOp => (i) => new Promise<void>((resolve, reject) => {
  store.set(SCOPE, `k${i % KEYS}`, { ...VALUE, count: i }, (err) => (err ? reject(err) : resolve()));
});

interface Figures {
  opsPerSec: number;
  p50: number;
  p99: number;
}

async function timeAsync(op: AsyncOp): Promise<Figures> {
  const latencies: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = process.hrtime.bigint();
    await op(i);
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  latencies.sort((a, b) => a - b);
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < CONCURRENT) await op(next++);
  }));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSec: CONCURRENT / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

function timeSync(op: (i: number) => unknown): Figures {
  const latencies: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = process.hrtime.bigint();
    op(i);
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  latencies.sort((a, b) => a - b);
  const start = process.hrtime.bigint();
  for (let i = 0; i < SYNC_OPS; i++) op(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSec: SYNC_OPS / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

interface Case {
  store: string;
  op: string;
  /** Label of the row this one is compared with (itself for a baseline). */
  baseline: string;
  run: () => Promise<Figures>;
  results: Figures[];
}

export async function contextBench(): Promise<BenchSection[]> {
  const redis = await RedisServer.start();
  const ours = new RedisContextStore({ redisUrl: redis.url, instance: 'bench-ctx', replica: 'bench' });
  const raw = new Redis(redis.url, { lazyConnect: true });
  const memory = memoryStore({});
  try {
    await Promise.all([ours.open(), raw.connect(), memory.open()]);
    const json = JSON.stringify(VALUE);
    // Every key exists before the reads, in each store.
    for (let i = 0; i < KEYS; i++) {
      await callbackSet(ours)(i);
      await callbackSet(memory)(i);
      await raw.set(`bench-raw:k${i}`, json);
    }
    const cases: Case[] = [
      { store: 'raw ioredis', op: 'GET', baseline: 'raw ioredis GET', run: () => timeAsync((i) => raw.get(`bench-raw:k${i % KEYS}`).then((v) => JSON.parse(v!))), results: [] },
      { store: 'node-red-ha `ha` store', op: 'async get', baseline: 'raw ioredis GET', run: () => timeAsync(callbackGet(ours)), results: [] },
      { store: 'raw ioredis', op: 'SET', baseline: 'raw ioredis SET', run: () => timeAsync((i) => raw.set(`bench-raw:k${i % KEYS}`, JSON.stringify({ ...VALUE, count: i }))), results: [] },
      { store: 'node-red-ha `ha` store', op: 'async set', baseline: 'raw ioredis SET', run: () => timeAsync(callbackSet(ours)), results: [] },
      { store: 'Node-RED memory store', op: 'async get', baseline: 'Node-RED memory store async get', run: () => timeAsync(callbackGet(memory)), results: [] },
      { store: 'Node-RED memory store', op: 'sync get', baseline: 'Node-RED memory store sync get', run: async () => timeSync((i) => memory.get(SCOPE, `k${i % KEYS}`)), results: [] },
      { store: 'node-red-ha `ha` store', op: 'sync get (replica copy)', baseline: 'Node-RED memory store sync get', run: async () => timeSync((i) => ours.get(SCOPE, `k${i % KEYS}`)), results: [] },
      { store: 'Node-RED memory store', op: 'async set', baseline: 'Node-RED memory store async set', run: () => timeAsync(callbackSet(memory)), results: [] },
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) c.results.push(await c.run());
    }
    const label = (c: Case) => `${c.store} ${c.op}`;
    const figures = new Map(cases.map((c) => [label(c), {
      opsPerSec: median(c.results.map((r) => r.opsPerSec)),
      p50: median(c.results.map((r) => r.p50)),
      p99: median(c.results.map((r) => r.p99)),
    }]));
    const ms = (value: number) => (value < 0.1 ? value.toFixed(4) : value.toFixed(2));
    const rows = cases.map((c) => {
      const f = figures.get(label(c))!;
      const base = figures.get(c.baseline)!;
      return [c.store, c.op, count(f.opsPerSec), ms(f.p50), ms(f.p99),
        c.baseline === label(c) ? 'baseline' : `${ratio(f.opsPerSec, base.opsPerSec)} of ${c.baseline}`];
    });
    const asyncGet = figures.get('node-red-ha `ha` store async get')!;
    const asyncSet = figures.get('node-red-ha `ha` store async set')!;
    const rawGet = figures.get('raw ioredis GET')!;
    const rawSet = figures.get('raw ioredis SET')!;
    return [{
      title: 'Shared context: the `ha` store vs raw ioredis vs Node-RED\'s memory store',
      method: `Calls as Node-RED's context layer makes them on a store, in one Node.js process against a private redis-server ` +
        `(scope "global", ${KEYS} keys, a 4-field JSON object per key). Latency: ${count(SEQUENTIAL)} calls one at a time; ` +
        `ops/s: ${count(CONCURRENT)} calls with ${IN_FLIGHT} in flight (sync gets: ${count(SYNC_OPS)} in a loop). ` +
        `Median of ${ROUNDS} rounds. Machine: ${machine()}; load average at the end ${loadAverage()}.`,
      headers: ['store', 'operation', 'ops/s', 'p50 ms', 'p99 ms', 'ops/s vs baseline'],
      rows,
      notes: [
        `Async get p99 ${asyncGet.p99.toFixed(2)} ms (target < 2 ms: ${asyncGet.p99 < 2 ? 'met' : `missed by ${(asyncGet.p99 - 2).toFixed(2)} ms`}); raw ioredis GET p99 ${rawGet.p99.toFixed(2)} ms.`,
        `Async get is one HMGET on the scope's hash; async set is one Lua script (HSET + change sequence + PUBLISH to the other replicas), ` +
        `so it costs more than a plain SET: p99 ${asyncSet.p99.toFixed(2)} ms vs ${rawSet.p99.toFixed(2)} ms.`,
        'Sync get reads the replica\'s copy kept current by Redis pub/sub: no network round trip, so it stays close to the memory store.',
      ],
    }];
  } finally {
    await ours.close().catch(() => undefined);
    raw.disconnect();
    await closeAll([redis]);
  }
}

if (require.main === module) {
  runAlone(contextBench);
}
