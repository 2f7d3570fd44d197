// Section 5, overhead: the same busy flow on plain Node-RED (no plugin) and on a replica in HA mode
// (withHA, the plugin with its hooks, Redis context store, leader election, log entries shipped to
// Redis). Both run at once and take turns, so background load on the machine hits them alike.
import { MosquittoServer } from '../test/harness/mosquitto';
import { NodeRed } from '../test/harness/node-red';
import { RedisServer } from '../test/harness/redis';
import { profile, profileFile, profilerEnv, selfShare } from './lib/cpu-profile';
import { BUSY_FLOW } from './lib/flows';
import { BenchSection, machine } from './lib/report';
import { closeAll, count, cpuMs, EDITOR_OFF, ensureTemplate, loadAverage, median, runAlone, startPlainNodeRed } from './lib/setup';
import { requireWrk, wrk } from './lib/wrk';

const QUICK = process.env.BENCH_QUICK === '1';
// Many short turns rather than a few long ones: other load on a shared machine comes and goes over
// seconds, and each HA turn is compared with the plain turn just before it. On the 2-core machine
// these ran on, single HA/plain turn ratios spread from 0.5 to 1.5, and even the median of 12-16
// pairs moved by several points between runs.
const WRK_SECONDS = 1;
const WRK_ROUNDS = QUICK ? 3 : 12;
const CONNECTIONS = 16;
/** Messages one burst request fans out inside the flow. */
const BURST = QUICK ? 5000 : 20_000;
const BURST_ROUNDS = QUICK ? 3 : 16;
const TARGET_PERCENT = 5;
const PROFILED_BURSTS = QUICK ? 1 : 4;
const PROFILED_WRK_SECONDS = QUICK ? 1 : 3;

interface Target {
  label: string;
  nr: NodeRed;
  wrk: Array<{ rps: number; cpuPerReq: number }>;
  burst: Array<{ msgsPerSec: number; cpuPerMsg: number }>;
}

async function burst(target: Target, messages: number): Promise<{ msgsPerSec: number; cpuPerMsg: number }> {
  const pid = target.nr.proc.child.pid!;
  const cpu = cpuMs(pid);
  const start = process.hrtime.bigint();
  const res = await fetch(`${target.nr.url}/work?n=${messages}&log=1`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`burst request to ${target.label} failed: ${res.status} ${text}`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { msgsPerSec: messages / seconds, cpuPerMsg: ((cpuMs(pid) - cpu) * 1000) / messages };
}

async function load(target: Target, seconds: number): Promise<{ rps: number; cpuPerReq: number }> {
  const pid = target.nr.proc.child.pid!;
  const cpu = cpuMs(pid);
  const result = await wrk(`${target.nr.url}/work?n=1&log=1`, { connections: CONNECTIONS, seconds });
  if (result.errors) throw new Error(`${result.errors} requests to ${target.label} failed`);
  return { rps: result.rps, cpuPerReq: ((cpuMs(pid) - cpu) * 1000) / result.requests };
}

/** Log entries the HA replica has shipped to Redis and dropped so far (its Prometheus counters). */
async function logCounts(nr: NodeRed): Promise<{ shipped: number; dropped: number }> {
  const text = (await nr.request('GET', '/ha/metrics')).text;
  const counter = (name: string) => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : NaN;
  };
  return { shipped: counter('nrha_log_entries_shipped_total'), dropped: counter('nrha_log_entries_dropped_total') };
}

export async function overheadBench(): Promise<BenchSection[]> {
  requireWrk();
  ensureTemplate();
  const [redis, mosquitto] = await Promise.all([RedisServer.start(), MosquittoServer.start()]);
  const opened: Array<{ close(): Promise<void> } | undefined> = [redis, mosquitto];
  try {
    // Both carry the profiler hook (idle until asked), so the timed turns compare like with like.
    const profiled = profileFile('overhead-ha');
    const [plain, ha] = await Promise.all([
      startPlainNodeRed({ name: 'plain', flows: BUSY_FLOW, settings: EDITOR_OFF, waitFor: /Started flows/, env: profilerEnv(profileFile('overhead-plain')) }),
      NodeRed.start({
        name: 'ha', flows: BUSY_FLOW, waitFor: /Started flows/,
        env: { NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'bench-overhead', NR_HA_REPLICA: 'bench-1', NR_HA_REDIS_URL: redis.url, NR_HA_MQTT_URL: mosquitto.url, ...profilerEnv(profiled) },
      }),
    ]);
    opened.push(plain, ha);
    const targets: Target[] = [
      { label: 'plain Node-RED (baseline)', nr: plain, wrk: [], burst: [] },
      { label: 'HA mode: plugin + log shipping to Redis', nr: ha, wrk: [], burst: [] },
    ];
    const before = await logCounts(ha);
    for (const t of targets) {
      await load(t, QUICK ? 1 : 2);
      await burst(t, BURST / 4);
    }
    for (let round = 0; round < WRK_ROUNDS; round++) for (const t of targets) t.wrk.push(await load(t, WRK_SECONDS));
    for (let round = 0; round < BURST_ROUNDS; round++) for (const t of targets) t.burst.push(await burst(t, BURST));
    // The last burst's entries are written within about 50 ms; read the counters after that.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await logCounts(ha);
    // After the timed turns, so the profiler's own cost stays out of them.
    const haTarget = targets[1];
    const cpu = await profile(ha, profiled, async () => {
      for (let i = 0; i < PROFILED_BURSTS; i++) await burst(haTarget, BURST);
      await load(haTarget, PROFILED_WRK_SECONDS);
    });
    const share = {
      package: selfShare(cpu, /node_modules\/node-red-ha\//),
      consoleLines: selfShare(cpu, /node_modules\/node-red-ha\/dist\/lib\/logs\/console-(handler|line)\.js/),
      redisClient: selfShare(cpu, /node_modules\/(ioredis|redis-parser|@ioredis)\//),
    };

    const rps = targets.map((t) => median(t.wrk.map((r) => r.rps)));
    const cpuReq = targets.map((t) => median(t.wrk.map((r) => r.cpuPerReq)));
    const msgs = targets.map((t) => median(t.burst.map((r) => r.msgsPerSec)));
    const cpuMsg = targets.map((t) => median(t.burst.map((r) => r.cpuPerMsg)));
    // HA vs plain as the median of each turn's ratio to the plain turn next to it.
    const pairRatios = (runs: (t: Target) => number[]) => {
      const [base, ha] = targets.map(runs);
      return ha.map((value, i) => value / base[i]);
    };
    const pairedChange = (runs: (t: Target) => number[]) => (median(pairRatios(runs)) - 1) * 100;
    const change = {
      rps: pairedChange((t) => t.wrk.map((r) => r.rps)),
      cpuReq: pairedChange((t) => t.wrk.map((r) => r.cpuPerReq)),
      msgs: pairedChange((t) => t.burst.map((r) => r.msgsPerSec)),
      cpuMsg: pairedChange((t) => t.burst.map((r) => r.cpuPerMsg)),
    };
    const ratioList = (runs: (t: Target) => number[]) => pairRatios(runs).map((r) => r.toFixed(2)).join(', ');
    const signed = (p: number) => `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
    const spread = (values: number[]) => `${count(Math.min(...values))}-${count(Math.max(...values))}`;
    const rows = [
      ...targets.map((t, i) => [`HTTP, 1 msg + 1 warning per request (wrk)`, t.label, `${count(rps[i])} req/s (${spread(t.wrk.map((r) => r.rps))})`, cpuReq[i].toFixed(0),
        i === 0 ? 'baseline' : signed(change.rps), i === 0 ? 'baseline' : signed(change.cpuReq)]),
      ...targets.map((t, i) => [`burst: 1 request fans out ${count(BURST)} msgs, 1 warning each`, t.label, `${count(msgs[i])} msgs/s (${spread(t.burst.map((r) => r.msgsPerSec))})`, cpuMsg[i].toFixed(0),
        i === 0 ? 'baseline' : signed(change.msgs), i === 0 ? 'baseline' : signed(change.cpuMsg)]),
    ];
    const worst = Math.max(-change.rps, -change.msgs);
    return [{
      title: 'Overhead: HA plugin + log shipping vs plain Node-RED',
      method: `A busy flow (http in -> function fan-out -> function doing a JSON round trip and node.warn per message -> http response) ` +
        `on plain Node-RED (user dir without node-red-ha; editor off, as withHA sets it in HA mode) and on one HA replica (withHA, NR_HA_ENABLED, Redis context store, ` +
        `leader election, singleton onSend hook, every log entry shipped to a Redis stream), both hit directly. ` +
        `HTTP: wrk, 1 thread, ${CONNECTIONS} connections, ${WRK_ROUNDS} x ${WRK_SECONDS} s each; burst: ${BURST_ROUNDS} runs each; ` +
        `the two take turns. Throughput and CPU: median of the turns (lowest-highest in brackets); "vs plain": median of each HA turn's ratio ` +
        `to the plain turn just before it. CPU: the Node-RED process's own time (/proc). ` +
        `Machine: ${machine()}; load average at the end ${loadAverage()}.`,
      headers: ['flow', 'configuration', 'throughput', 'CPU µs per msg', 'throughput vs plain', 'CPU vs plain'],
      rows,
      notes: [
        `Throughput cost of HA mode in the worse of the two flows: ${worst > 0 ? `${worst.toFixed(1)}%` : `none (HA mode ${(-worst).toFixed(1)}% faster)`} ` +
        `(target <= ${TARGET_PERCENT}%: ${worst <= TARGET_PERCENT ? 'met' : `missed by ${(worst - TARGET_PERCENT).toFixed(1)} points`}).`,
        `HA / plain throughput, turn by turn: HTTP ${ratioList((t) => t.wrk.map((r) => r.rps))}; burst ${ratioList((t) => t.burst.map((r) => r.msgsPerSec))}.`,
        `The HA replica shipped ${count(after.shipped - before.shipped)} log entries to Redis during the runs and dropped ${count(after.dropped - before.dropped)}.`,
        `CPU profile of the HA replica after the timed turns (${PROFILED_BURSTS} burst${PROFILED_BURSTS === 1 ? '' : 's'}, then ${PROFILED_WRK_SECONDS} s of HTTP), a measure other load on the machine hardly moves: ` +
        `${share.package.toFixed(1)}% of its busy CPU ran node-red-ha's own code (${share.consoleLines.toFixed(1)}% of it formatting console lines, which replaces ` +
        `Node-RED's console logger that the plain process runs instead) and ${share.redisClient.toFixed(1)}% ran ioredis. Node-RED's own work for the hooks and the ` +
        'extra middleware is not in these figures.',
      ],
    }];
  } finally {
    await closeAll(opened.reverse());
  }
}

if (require.main === module) {
  runAlone(overheadBench);
}
