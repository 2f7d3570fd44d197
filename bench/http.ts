// Section 3, HTTP scaling: requests/s of an HTTP-in flow that burns a fixed amount of CPU per
// request, served by plain Node-RED (no plugin: the baseline), by `node-red-ha start` with 1 and
// 2 replicas, and by two plain processes hit directly (the ceiling for 2 cores). All run at once
// and the configurations take turns, so background load on the machine hits them alike.
import { MosquittoServer } from '../test/harness/mosquitto';
import { NodeRed } from '../test/harness/node-red';
import { RedisServer } from '../test/harness/redis';
import { BenchSection, machine, ratio } from './lib/report';
import { closeAll, count, cpuMs, EDITOR_OFF, ensureTemplate, Launcher, loadAverage, median, runAlone, startPlainNodeRed } from './lib/setup';
import { requireWrk, wrk, WrkResult } from './lib/wrk';

const QUICK = process.env.BENCH_QUICK === '1';
/** Seconds per measured wrk run. */
const SECONDS = QUICK ? 3 : 6;
/** Measured runs per configuration (the table shows their median). */
const ROUNDS = 2;
const WARMUP_SECONDS = QUICK ? 1 : 2;
const CONNECTIONS = 16;
/** CPU work per request the flow does, milliseconds. */
const WORK_MS = 2;

/** A busy loop of `?n=` iterations: CPU work, not a sleep. */
const WORK = 'const n = Number(msg.req.query.n) || 0; let x = 0; for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003; msg.payload = String(x); return msg;';

const FLOW = [
  { id: 'bh-tab', type: 'tab', label: 'bench http' },
  { id: 'bh-in', z: 'bh-tab', type: 'http in', url: '/work', method: 'get', wires: [['bh-fn']] },
  { id: 'bh-fn', z: 'bh-tab', type: 'function', name: 'cpu work', outputs: 1, func: WORK, wires: [['bh-out']] },
  { id: 'bh-out', z: 'bh-tab', type: 'http response', wires: [] },
];

/** CPU milliseconds plain Node-RED spends per request of `iterations`, over sequential requests. */
async function cpuPerRequest(nr: NodeRed, iterations: number, requests = 150): Promise<number> {
  const pid = nr.proc.child.pid!;
  const before = cpuMs(pid);
  for (let i = 0; i < requests; i++) {
    const res = await fetch(`${nr.url}/work?n=${iterations}`);
    await res.text();
  }
  return (cpuMs(pid) - before) / requests;
}

/**
 * Iterations that cost WORK_MS of CPU per request in the function node of a real Node-RED (it
 * compiles the node's code into a fresh closure per message, so the loop never stays optimised:
 * timing it anywhere else is off by 2x). Measured as extra process CPU time over empty requests.
 */
async function calibrate(nr: NodeRed): Promise<number> {
  const probe = 300_000;
  await cpuPerRequest(nr, probe, 30);
  const empty = await cpuPerRequest(nr, 0);
  const loaded = await cpuPerRequest(nr, probe);
  return Math.round((probe * WORK_MS) / Math.max(loaded - empty, 0.1));
}

interface Config {
  label: string;
  /** URLs hit at once, one wrk each (the connections split between them). */
  urls: string[];
  /** Node-RED processes serving the requests. */
  nodeRedPids: () => number[];
  /** The launcher's own process (the proxy), if any. */
  proxyPid?: number;
  runs: Array<{ rps: number; p50: number; p99: number; errors: number; nodeRedCpu: number; proxyCpu: number; requests: number }>;
}

async function measure(config: Config, seconds: number): Promise<Config['runs'][number]> {
  const pids = config.nodeRedPids();
  const before = pids.map(cpuMs);
  const proxyBefore = config.proxyPid ? cpuMs(config.proxyPid) : 0;
  const results: WrkResult[] = await Promise.all(config.urls.map((url) => wrk(url, { connections: CONNECTIONS / config.urls.length, seconds })));
  const nodeRedCpu = pids.reduce((sum, pid, i) => sum + cpuMs(pid) - before[i], 0);
  const proxyCpu = config.proxyPid ? cpuMs(config.proxyPid) - proxyBefore : 0;
  const requests = results.reduce((s, r) => s + r.requests, 0);
  return {
    rps: results.reduce((s, r) => s + r.rps, 0),
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    errors: results.reduce((s, r) => s + r.errors, 0),
    nodeRedCpu, proxyCpu, requests,
  };
}

export async function httpBench(): Promise<BenchSection[]> {
  requireWrk();
  ensureTemplate();
  const [redis, mosquitto] = await Promise.all([RedisServer.start(), MosquittoServer.start()]);
  const haEnv = { NR_HA_REDIS_URL: redis.url, NR_HA_MQTT_URL: mosquitto.url };
  const opened: Array<{ close(): Promise<void> } | undefined> = [redis, mosquitto];
  try {
    const plain: NodeRed[] = await Promise.all([0, 1].map((i) => startPlainNodeRed({ name: `plain-${i}`, flows: FLOW, settings: EDITOR_OFF, waitFor: /Started flows/ })));
    const iterations = await calibrate(plain[0]);
    const path = `/work?n=${iterations}`;
    opened.push(...plain);
    const one = await Launcher.start({ replicas: 1, flows: FLOW, instance: 'bench-http-1', env: haEnv });
    opened.push(one);
    const two = await Launcher.start({ replicas: 2, flows: FLOW, instance: 'bench-http-2', env: haEnv });
    opened.push(two);
    const configs: Config[] = [
      { label: 'plain Node-RED, 1 process (baseline)', urls: [plain[0].url + path], nodeRedPids: () => [plain[0].proc.child.pid!], runs: [] },
      { label: 'node-red-ha start --replicas 1', urls: [one.url + path], nodeRedPids: () => one.replicaPids(), proxyPid: one.proc.child.pid, runs: [] },
      { label: 'node-red-ha start --replicas 2', urls: [two.url + path], nodeRedPids: () => two.replicaPids(), proxyPid: two.proc.child.pid, runs: [] },
      { label: 'ceiling: 2 plain processes, each hit directly', urls: plain.map((p) => p.url + path), nodeRedPids: () => plain.map((p) => p.proc.child.pid!), runs: [] },
    ];
    for (const config of configs) await measure(config, WARMUP_SECONDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const config of configs) config.runs.push(await measure(config, SECONDS));
    }

    const rps = configs.map((c) => median(c.runs.map((r) => r.rps)));
    const perRequest = (cpu: number, requests: number) => (requests ? cpu / requests : 0);
    const rows = configs.map((c, i) => [
      c.label,
      count(rps[i]),
      median(c.runs.map((r) => r.p50)).toFixed(1),
      median(c.runs.map((r) => r.p99)).toFixed(1),
      ratio(rps[i], rps[0]),
      median(c.runs.map((r) => perRequest(r.nodeRedCpu, r.requests))).toFixed(2),
      c.proxyPid ? median(c.runs.map((r) => perRequest(r.proxyCpu, r.requests))).toFixed(2) : '-',
      c.runs.reduce((s, r) => s + r.errors, 0),
    ]);
    const scaling = rps[2] / rps[1];
    const ceiling = rps[3] / rps[0];
    const proxyShare = median(configs[2].runs.map((r) => r.proxyCpu / Math.max(r.proxyCpu + r.nodeRedCpu, 1)));
    const notes = [
      `2 replicas vs 1 replica through node-red-ha start: ${scaling.toFixed(2)}x (target >= 1.7x: ${scaling >= 1.7 ? 'met' : `missed by ${(1.7 - scaling).toFixed(2)}x`}).`,
      `Ceiling: two plain processes hit directly serve ${ceiling.toFixed(2)}x of one` + (ceiling < 1.7
        ? ': less than 1.7x, so two CPU-bound processes did not get two cores\' worth of CPU in this run (other load, or two vCPUs sharing one physical core; see the CPU ms/req column rise); no launcher could meet the target here.'
        : '.') + ` The 2-replica launcher reaches ${ratio(rps[2], rps[3])} of that ceiling.`,
      `1 replica behind the launcher vs plain Node-RED: ${ratio(rps[1], rps[0])} (the proxy hop and the HA plugin).`,
      `The launcher's proxy is a Node.js process on the same 2 cores: with 2 replicas it used ${(proxyShare * 100).toFixed(0)}% of the CPU spent on the requests, CPU the replicas could not use.`,
    ];
    return [{
      title: 'HTTP scaling: node-red-ha start with 1 and 2 replicas vs plain Node-RED',
      method: `GET /work on an http in -> function -> http response flow whose function runs a loop of ${count(iterations)} iterations ` +
        `(calibrated at the start to add ${WORK_MS} ms of Node-RED CPU time per request). wrk, 1 thread, ${CONNECTIONS} keep-alive connections, ` +
        `${ROUNDS} x ${SECONDS} s per configuration after a ${WARMUP_SECONDS} s warm-up, configurations taking turns; median of the runs. ` +
        `Plain Node-RED runs with the editor off, as withHA sets it in HA mode. Replicas use a private Redis and Mosquitto. CPU columns: process CPU time (/proc) divided by requests served. ` +
        `Machine: ${machine()}; load average at the end ${loadAverage()}.`,
      headers: ['configuration', 'requests/s', 'p50 ms', 'p99 ms', 'vs plain', 'Node-RED CPU ms/req', 'proxy CPU ms/req', 'errors'],
      rows,
      notes,
    }];
  } finally {
    await closeAll(opened.reverse());
  }
}

if (require.main === module) {
  runAlone(httpBench);
}
