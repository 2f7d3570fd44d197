// Sections 1 and 2, project link: a burst of messages from `project link out` to
// `project link in` through Mosquitto, and sequential `project link call` round trips, with our
// nodes (receiver HA off, and HA on with 1, 2, 3 replicas), with FlowFuse's @flowfuse/nr-project-nodes
// on the same broker and flow shape, and with bare mqtt.js clients (the ceiling). Everything runs
// at once and the configurations take turns, so background load hits them alike.
import { MosquittoServer } from '../test/harness/mosquitto';
import { NodeRed } from '../test/harness/node-red';
import { REPO_ROOT } from '../test/harness/package';
import { Proc } from '../test/harness/process';
import { BenchSection, machine, percentile, ratio } from './lib/report';
import { closeAll, count, ensureTemplate, loadAverage, median, runAlone, startPlainNodeRed } from './lib/setup';

const QUICK = process.env.BENCH_QUICK === '1';
/** Messages per burst. */
const BURST = QUICK ? 2000 : 5000;
const BURST_RUNS = QUICK ? 1 : 2;
/** Messages in the warm-up burst of each configuration. */
const WARMUP = 1000;
/** Sequential calls per round-trip measurement. */
const CALLS = QUICK ? 200 : 1000;
/** A run of calls also stops after this long (Nagle-bound round trips take ~90 ms each). */
const CALL_SECONDS = QUICK ? 5 : 10;
const CALL_RUNS = 1;
/** A burst is over when every message arrived or nothing arrived for this long. */
const QUIET_MS = 1500;
const TEAM = 'bench';
/** Node-RED processes started at a time. */
const START_BATCH = 3;
/** Our receiving instances, HA off and HA on with 1, 2 and 3 replicas. */
const OURS = [
  { instance: 'recv-off', replicas: 1, ha: false, label: 'ours, receiver HA off' },
  { instance: 'recv-ha1', replicas: 1, ha: true, label: 'ours, receiver HA on, 1 replica' },
  { instance: 'recv-ha2', replicas: 2, ha: true, label: 'ours, receiver HA on, 2 replicas' },
  { instance: 'recv-ha3', replicas: 3, ha: true, label: 'ours, receiver HA on, 3 replicas' },
];
const FF_SEND = 'ff-send';
const FF = 'FlowFuse nr-project-nodes';
/** Bare mqtt.js rows by publish QoS: the ceiling for each kind of client. */
const BARE = { 1: 'bare mqtt.js QoS 1: publish -> $share subscribe (ceiling)', 2: 'bare mqtt.js QoS 2: publish -> $share subscribe (ceiling)' } as const;
const FF_RECV = 'ff-recv';
/**
 * Broker settings: Mosquitto's stock limits (Receive Maximum 20 per client, 1000 queued messages
 * per client), plus TCP_NODELAY: without it every QoS 2 handshake waits on Nagle and delayed ACKs
 * (about 45 ms per call round trip for every client, bare mqtt.js included).
 */
const STOCK = ['set_tcp_nodelay true'];
/** No flow-control limits: FlowFuse's nodes drop what the stock Receive Maximum refuses; here they drop nothing. */
const NO_LIMITS = [...STOCK, 'max_inflight_messages 0', 'max_queued_messages 1000000'];
/** Every process keeps its counters in memory. */
const SETTINGS = { contextStorage: { default: { module: 'memory' } } };
/** High-resolution clock inside a function node (the `process` module through the node's libs). */
const NOW = 'const now = () => { const [s, ns] = process.hrtime(); return s * 1e3 + ns / 1e6; };';
const LIBS = [{ var: 'process', module: 'process' }];

/** Counts `work` messages (GET /count) and answers `rt` calls. The same flow for our nodes and FlowFuse's. */
const RECEIVER_FLOW = [
  { id: 'r', type: 'tab', label: 'receiver' },
  { id: 'r-in', z: 'r', type: 'project link in', name: '', project: '', broadcast: false, topic: 'work', wires: [['r-count']] },
  { id: 'r-count', z: 'r', type: 'function', outputs: 1, wires: [],
    func: 'global.set("count", (global.get("count") || 0) + 1); global.set("lastAt", Date.now()); return null;' },
  { id: 'r-get', z: 'r', type: 'http in', url: '/count', method: 'get', wires: [['r-read']] },
  { id: 'r-read', z: 'r', type: 'function', outputs: 1, wires: [['r-res']],
    func: 'msg.payload = { count: global.get("count") || 0, lastAt: global.get("lastAt") || 0 }; return msg;' },
  { id: 'r-res', z: 'r', type: 'http response', wires: [] },
  { id: 'r-rt', z: 'r', type: 'project link in', name: '', project: '', broadcast: false, topic: 'rt', wires: [['r-ret']] },
  { id: 'r-ret', z: 'r', type: 'project link out', name: '', mode: 'return', broadcast: false, project: '', topic: '', wires: [] },
];

/**
 * POST /burst?to=<i>&n=N emits N messages in one go into the link out for targets[i];
 * POST /calls?to=<i>&n=N makes N link calls to targets[i] one after the other, GET /calls reads
 * the latencies (ms) once they are done.
 */
function senderFlow(targets: string[]) {
  const outs = targets.map((_, i) => `s-out-${i}`);
  const calls = targets.map((_, i) => `s-call-${i}`);
  return [
    { id: 's', type: 'tab', label: 'sender' },
    { id: 's-burst', z: 's', type: 'http in', url: '/burst', method: 'post', wires: [['s-gen', 's-ok']] },
    { id: 's-ok', z: 's', type: 'http response', wires: [] },
    { id: 's-gen', z: 's', type: 'function', outputs: targets.length, wires: outs.map((o) => [o]),
      func: [
        'const n = Number(msg.req.query.n), to = Number(msg.req.query.to);',
        `for (let i = 0; i < n; i++) { const out = new Array(${targets.length}).fill(null); out[to] = { id: i, payload: { i, at: Date.now() } }; node.send(out); }`,
        'return null;',
      ].join('\n') },
    ...targets.map((project, i) => ({ id: outs[i], z: 's', type: 'project link out', name: '', mode: 'link', broadcast: false, project, topic: 'work', wires: [] })),
    { id: 's-calls', z: 's', type: 'http in', url: '/calls', method: 'post', wires: [['s-kick', 's-ok']] },
    { id: 's-kick', z: 's', type: 'function', outputs: targets.length, libs: LIBS, wires: calls.map((c) => [c]),
      func: [
        NOW,
        'const to = Number(msg.req.query.to);',
        'flow.set("lat", []); flow.set("left", Number(msg.req.query.n)); flow.set("to", to); flow.set("until", now() + Number(msg.req.query.ms)); flow.set("t0", now());',
        `const out = new Array(${targets.length}).fill(null); out[to] = { payload: 1 }; return out;`,
      ].join('\n') },
    ...targets.map((project, i) => ({ id: calls[i], z: 's', type: 'project link call', name: '', project, topic: 'rt', timeout: '10', wires: [['s-record']] })),
    { id: 's-record', z: 's', type: 'function', outputs: targets.length, libs: LIBS, wires: calls.map((c) => [c]),
      func: [
        NOW,
        'flow.get("lat").push(now() - flow.get("t0"));',
        'const left = now() > flow.get("until") ? 0 : flow.get("left") - 1; flow.set("left", left);',
        'if (left <= 0) return null;',
        'flow.set("t0", now());',
        `const out = new Array(${targets.length}).fill(null); out[flow.get("to")] = { payload: 1 }; return out;`,
      ].join('\n') },
    { id: 's-lat', z: 's', type: 'http in', url: '/calls', method: 'get', wires: [['s-lat-read']] },
    { id: 's-lat-read', z: 's', type: 'function', outputs: 1, wires: [['s-lat-res']],
      func: 'msg.payload = { left: flow.get("left"), lat: flow.get("left") > 0 ? [] : flow.get("lat") }; return msg;' },
    { id: 's-lat-res', z: 's', type: 'http response', wires: [] },
  ];
}

/** FlowFuse's nodes load only with these settings (their platform writes them). */
const flowforge = (projectID: string, brokerUrl: string) => ({
  ...SETTINGS,
  flowforge: { projectID, teamID: TEAM, projectLink: { broker: { url: brokerUrl, clientId: `${projectID}-client` } } },
});

const MQTT_MODULE = require.resolve('mqtt', { paths: [REPO_ROOT] });

/** A bare mqtt.js program in a child process (as Node-RED runs in its own): `-e` JS text. */
function bareProc(name: string, code: string): Proc {
  return new Proc(name, process.execPath, ['-e', `const mqtt = require(${JSON.stringify(MQTT_MODULE)});\n${code}`]);
}

/** Subscribes `$share/bare/<topic>` at QoS 2 and prints `C <count> <lastAt>` when the count changed. */
const bareSubscriber = (url: string, topic: string) => bareProc('bare-sub', `
const client = mqtt.connect(${JSON.stringify(url)}, { protocolVersion: 5 });
let count = 0, lastAt = 0, shown = -1;
client.on('message', () => { count++; lastAt = Date.now(); });
client.on('connect', () => client.subscribe(${JSON.stringify(`$share/bare/${topic}`)}, { qos: 2 }, (err) => {
  if (err) { console.error(err.message); process.exit(1); }
  console.log('READY');
}));
setInterval(() => { if (count !== shown) { shown = count; console.log('C ' + count + ' ' + lastAt); } }, 20);
`);

/**
 * Publishes `n` messages at `qos` as fast as MQTT v5 flow control allows (at most the broker's
 * Receive Maximum unacknowledged); prints `START <ms>` and `END <ok> <failed>`.
 */
const barePublisher = (url: string, topic: string, n: number, qos: 1 | 2) => bareProc('bare-pub', `
const client = mqtt.connect(${JSON.stringify(url)}, { protocolVersion: 5 });
client.on('connect', (ack) => {
  const window = (ack.properties && ack.properties.receiveMaximum) || 65535;
  let next = 0, inFlight = 0, ok = 0, failed = 0;
  const pump = () => {
    while (inFlight < window && next < ${n}) {
      const i = next++;
      inFlight++;
      client.publish(${JSON.stringify(topic)}, JSON.stringify({ id: i, payload: { i, at: Date.now() } }), { qos: ${qos} }, (err) => {
        inFlight--;
        if (err) failed++; else ok++;
        if (ok + failed === ${n}) { console.log('END ' + ok + ' ' + failed); client.end(false, () => process.exit(0)); } else pump();
      });
    }
  };
  console.log('START ' + Date.now());
  pump();
});
`);

/** Answers requests on `bare/rt` to the request's response topic with its correlation data. */
const bareResponder = (url: string) => bareProc('bare-resp', `
const client = mqtt.connect(${JSON.stringify(url)}, { protocolVersion: 5 });
client.on('message', (topic, payload, packet) => {
  const p = packet.properties || {};
  client.publish(p.responseTopic, payload, { qos: 2, properties: { correlationData: p.correlationData } });
});
client.on('connect', () => client.subscribe('$share/bare/bare/rt', { qos: 2 }, () => console.log('READY')));
`);

/** `n` sequential requests to bare/rt; prints the latencies (ms) as `LAT <json>`. */
const bareRequester = (url: string, n: number, ms: number) => bareProc('bare-req', `
const client = mqtt.connect(${JSON.stringify(url)}, { protocolVersion: 5 });
const lat = []; const until = performance.now() + ${ms}; let t0 = 0, id = 0;
const send = () => { t0 = performance.now(); client.publish('bare/rt', JSON.stringify({ payload: 1 }), { qos: 2, properties: { responseTopic: 'bare/res/1', correlationData: Buffer.from(String(++id)) } }); };
client.on('message', (topic, payload, packet) => {
  if (String(packet.properties.correlationData) !== String(id)) return;
  lat.push(performance.now() - t0);
  if (lat.length < ${n} && performance.now() < until) return send();
  console.log('LAT ' + JSON.stringify(lat)); client.end(false, () => process.exit(0));
});
client.on('connect', () => client.subscribe('bare/res/1', { qos: 2 }, send));
`);

/** Where a burst is received and how its count is read. */
interface Receiver {
  /** Total received so far and the latest arrival time (Date.now()), over all replicas. */
  read(): Promise<{ count: number; lastAt: number }>;
}

function nodeRedReceiver(replicas: NodeRed[]): Receiver {
  return {
    async read() {
      const answers = await Promise.all(replicas.map((r) => r.request('GET', '/count')));
      return {
        count: answers.reduce((s, a) => s + a.json.count, 0),
        lastAt: Math.max(...answers.map((a) => a.json.lastAt)),
      };
    },
  };
}

interface BurstResult { delivered: number; sent: number; msgsPerSec: number }

/** Starts a burst with `send` (resolving to its start time) and waits until it is all in or stalled. */
async function burst(receiver: Receiver, send: (n: number) => Promise<number>, n = BURST): Promise<BurstResult> {
  const before = await receiver.read();
  const startedAt = await send(n);
  let last = before;
  let changedAt = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 25));
    const now = await receiver.read();
    if (now.count !== last.count) changedAt = Date.now();
    last = now;
    if (now.count - before.count >= n || Date.now() - changedAt > QUIET_MS) break;
  }
  const delivered = last.count - before.count;
  const seconds = delivered ? (last.lastAt - startedAt) / 1000 : NaN;
  return { delivered, sent: n, msgsPerSec: delivered / Math.max(seconds, 0.001) };
}

/** A burst from a Node-RED sender: POST /burst; its start is when the request left. */
const nodeRedSend = (sender: NodeRed, to: number) => async (n: number) => {
  const startedAt = Date.now();
  const res = await sender.request('POST', `/burst?to=${to}&n=${n}`);
  if (res.status !== 200) throw new Error(`burst request failed: ${res.status} ${res.text}`);
  return startedAt;
};

async function nodeRedCalls(sender: NodeRed, to: number): Promise<number[]> {
  const res = await sender.request('POST', `/calls?to=${to}&n=${CALLS}&ms=${CALL_SECONDS * 1000}`);
  if (res.status !== 200) throw new Error(`calls request failed: ${res.status} ${res.text}`);
  const deadline = Date.now() + CALL_SECONDS * 1000 + 30_000;
  for (;;) {
    const state = (await sender.request('GET', '/calls')).json as { left: number; lat: number[] };
    if (state.left <= 0) return state.lat;
    if (Date.now() > deadline) throw new Error(`link calls did not finish: ${state.left} of ${CALLS} left`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function bareCalls(url: string): Promise<number[]> {
  const requester = bareRequester(url, CALLS, CALL_SECONDS * 1000);
  const line = await requester.waitForLine(/^LAT /, CALL_SECONDS * 1000 + 30_000);
  return JSON.parse(line.slice(4)) as number[];
}

const pct = (values: number[], p: number) => percentile([...values].sort((a, b) => a - b), p);

export async function linkBench(): Promise<BenchSection[]> {
  ensureTemplate();
  const [stock, noLimits] = await Promise.all([MosquittoServer.start({ extraConfig: STOCK }), MosquittoServer.start({ extraConfig: NO_LIMITS })]);
  const opened: Array<{ close(): Promise<void> } | undefined> = [stock, noLimits];
  const close = (p: { close(): Promise<void> } | Proc) => opened.push('close' in p ? p : { close: async () => { await p.stop('SIGKILL'); } });
  try {
    const ourEnv = (instance: string, ha: boolean, replica: string, broker = stock): Record<string, string> => ({
      NR_HA_INSTANCE: instance, NR_HA_REPLICA: replica, NR_HA_TEAM: TEAM, NR_HA_MQTT_URL: broker.url, ...(ha ? { NR_HA_ENABLED: 'true' } : {}),
    });
    const starts: Array<() => Promise<NodeRed>> = [
      () => NodeRed.start({ name: 'ours-send', flows: senderFlow(OURS.map((o) => o.instance)), settings: SETTINGS, env: ourEnv('bench-send', false, 'send'), waitFor: /Started flows/ }),
      ...OURS.flatMap((o) => Array.from({ length: o.replicas }, (_, i) => () => NodeRed.start({
        name: `${o.instance}-${i + 1}`, flows: RECEIVER_FLOW, settings: SETTINGS, env: ourEnv(o.instance, o.ha, `${o.instance}-${i + 1}`), waitFor: /Started flows/,
      }))),
      () => NodeRed.start({ name: 'ours-send-nl', flows: senderFlow([OURS[0].instance]), settings: SETTINGS, env: ourEnv('bench-send', false, 'send', noLimits), waitFor: /Started flows/ }),
      () => NodeRed.start({ name: 'recv-off-nl', flows: RECEIVER_FLOW, settings: SETTINGS, env: ourEnv(OURS[0].instance, false, 'recv-off-1', noLimits), waitFor: /Started flows/ }),
      ...[stock, noLimits].flatMap((broker) => [
        () => startPlainNodeRed({ name: `ff-send:${broker.port}`, flows: senderFlow([FF_RECV]), settings: flowforge(FF_SEND, broker.url), waitFor: /Started flows/ }),
        () => startPlainNodeRed({ name: `ff-recv:${broker.port}`, flows: RECEIVER_FLOW, settings: flowforge(FF_RECV, broker.url), waitFor: /Started flows/ }),
      ]),
    ];
    // A dozen Node-RED processes starting at once on 2 cores would outlast the start-up timeout.
    const started: NodeRed[] = [];
    for (let i = 0; i < starts.length; i += START_BATCH) {
      const batch = await Promise.allSettled(starts.slice(i, i + START_BATCH).map((start) => start()));
      for (const result of batch) if (result.status === 'fulfilled') started.push(result.value);
      const failed = batch.find((result) => result.status === 'rejected');
      if (failed) {
        started.forEach(close);
        throw (failed as PromiseRejectedResult).reason;
      }
    }
    started.forEach(close);
    const [oursSender, ...rest] = started;
    const receivers = OURS.map((o) => rest.splice(0, o.replicas));
    const [oursSenderNoLimits, oursReceiverNoLimits, ffSendStock, ffRecvStock, ffSendNoLimits, ffRecvNoLimits] = rest;

    const brokerTopic = `ff/v1/${TEAM}/p/bare/in/work`;
    const bareSubs = await Promise.all([stock, noLimits].map(async (broker) => {
      const sub = bareSubscriber(broker.url, brokerTopic);
      close(sub);
      await sub.waitForLine(/^READY$/, 15_000);
      return sub;
    }));
    const bareReceiver = (sub: Proc): Receiver => ({
      async read() {
        const line = [...sub.lines].reverse().find((l) => l.startsWith('C ')) ?? 'C 0 0';
        const [, c, at] = line.split(' ');
        return { count: Number(c), lastAt: Number(at) };
      },
    });
    const bareSend = (broker: MosquittoServer, qos: 1 | 2) => async (n: number) => {
      const publisher = barePublisher(broker.url, brokerTopic, n, qos);
      close(publisher);
      const line = await publisher.waitForLine(/^START /, 15_000);
      return Number(line.split(' ')[1]);
    };
    const responder = bareResponder(stock.url);
    close(responder);
    await responder.waitForLine(/^READY$/, 15_000);

    // Each configuration is compared with bare mqtt.js at its own QoS: ours publishes QoS 1, FlowFuse's QoS 2.
    const throughput = [
      { label: BARE[1], broker: 'stock', qos: 1, receiver: bareReceiver(bareSubs[0]), send: bareSend(stock, 1) },
      { label: BARE[2], broker: 'stock', qos: 2, receiver: bareReceiver(bareSubs[0]), send: bareSend(stock, 2) },
      ...OURS.map((o, i) => ({ label: o.label, broker: 'stock', qos: 1, receiver: nodeRedReceiver(receivers[i]), send: nodeRedSend(oursSender, i) })),
      { label: FF, broker: 'stock', qos: 2, receiver: nodeRedReceiver([ffRecvStock]), send: nodeRedSend(ffSendStock, 0) },
      { label: BARE[1], broker: 'no limits', qos: 1, receiver: bareReceiver(bareSubs[1]), send: bareSend(noLimits, 1) },
      { label: BARE[2], broker: 'no limits', qos: 2, receiver: bareReceiver(bareSubs[1]), send: bareSend(noLimits, 2) },
      { label: OURS[0].label, broker: 'no limits', qos: 1, receiver: nodeRedReceiver([oursReceiverNoLimits]), send: nodeRedSend(oursSenderNoLimits, 0) },
      { label: FF, broker: 'no limits', qos: 2, receiver: nodeRedReceiver([ffRecvNoLimits]), send: nodeRedSend(ffSendNoLimits, 0) },
    ].map((c) => ({ ...c, runs: [] as BurstResult[] }));
    const calls = [
      { label: 'bare mqtt.js request/response', run: () => bareCalls(stock.url), lat: [] as number[] },
      { label: 'ours, HA off -> HA off', run: () => nodeRedCalls(oursSender, 0), lat: [] as number[] },
      { label: 'ours, HA off -> HA on, 2 replicas', run: () => nodeRedCalls(oursSender, 2), lat: [] as number[] },
      { label: 'FlowFuse nr-project-nodes', run: () => nodeRedCalls(ffSendStock, 0), lat: [] as number[] },
    ];

    // Warm-up: proves every path works (subscriptions made) and warms the JIT.
    for (const c of throughput) {
      // A client may still be connecting (FlowFuse's retries after 3-7 s): a few tries, then give up.
      for (let attempt = 1; (await burst(c.receiver, c.send, WARMUP)).delivered === 0; attempt++) {
        if (attempt === 4) throw new Error(`${c.label} (${c.broker} broker): nothing arrived in ${attempt} warm-up bursts`);
      }
    }
    for (let run = 0; run < BURST_RUNS; run++) for (const c of throughput) c.runs.push(await burst(c.receiver, c.send));
    for (let run = 0; run < CALL_RUNS; run++) for (const c of calls) c.lat.push(...await c.run());

    const rate = (label: string, broker: string) => median(throughput.find((c) => c.label === label && c.broker === broker)!.runs.map((r) => r.msgsPerSec));
    const throughputRows = throughput.map((c) => {
      const r = rate(c.label, c.broker);
      return [c.label, c.broker === 'stock' ? 'stock limits' : 'no limits', `QoS ${c.qos}`,
        c.runs.map((x) => `${count(x.delivered)}/${count(x.sent)}`).join(', '), count(r), ratio(r, rate(FF, c.broker)), ratio(r, rate(BARE[c.qos as 1 | 2], c.broker))];
    });
    const oursStock = throughput.filter((c) => c.label.startsWith('ours') && c.broker === 'stock');
    const lostBy = oursStock.map((c) => c.runs.reduce((s, r) => s + r.sent - r.delivered, 0));
    const lost = oursStock.map((c, i) => `${c.label.replace(/^ours, /, '')}: ${count(lostBy[i])}`);
    const ffStockDelivered = throughput.find((c) => c.label === FF && c.broker === 'stock')!.runs.map((r) => count(r.delivered));
    const dropped = [...new Set(stock.proc!.lines.flatMap((l) => /Outgoing messages are being dropped for client (\S+?)\.?$/.exec(l)?.[1] ?? []))];
    const target = (value: number, goal: number) => `${value.toFixed(2)}x (target >= ${goal}x: ${value >= goal ? 'met' : 'missed'})`;
    const offStock = rate(OURS[0].label, 'stock');
    const offNoLimits = rate(OURS[0].label, 'no limits');
    const throughputNotes = [
      `Like for like (HA off both ends, the broker without limits, where FlowFuse drops nothing): ours vs FlowFuse ${target(offNoLimits / rate(FF, 'no limits'), 1.5)}; ` +
      `ours vs bare mqtt.js at QoS 1 ${target(offNoLimits / rate(BARE[1], 'no limits'), 0.7)}; bare mqtt.js at QoS 2, FlowFuse's QoS, moves ${ratio(rate(BARE[2], 'no limits'), rate(FF, 'no limits'))} of FlowFuse's rate.`,
      `Stock broker: ours HA off vs FlowFuse ${ratio(offStock, rate(FF, 'stock'))} (FlowFuse delivered ${ffStockDelivered.join(', ')} of ${count(BURST)}: ` +
      `the broker refuses publishes beyond its Receive Maximum with "Quota exceeded" and FlowFuse's node drops them); ` +
      `vs bare mqtt.js at QoS 1: ${OURS.map((o) => `${o.label.replace(/^ours, receiver /, '')} ${ratio(rate(o.label, 'stock'), rate(BARE[1], 'stock'))}`).join(', ')}.`,
      `Messages ours did not deliver on the stock broker, all runs: ${lost.join('; ')}.` + (dropped.length && lostBy.some((n) => n > 0)
        ? ` Mosquitto logged "Outgoing messages are being dropped" for ${dropped.join(', ')}: a receiver that takes messages more slowly than the sender publishes fills its 1000-message queue on the broker, which then drops messages for it; sender-side flow control cannot see this.`
        : ''),
    ];

    const callRows = calls.map((c) => [c.label, count(c.lat.length), pct(c.lat, 50).toFixed(2), pct(c.lat, 99).toFixed(2),
      ratio(pct(c.lat, 99), pct(calls[3].lat, 99)), ratio(pct(c.lat, 99), pct(calls[0].lat, 99))]);
    const ffP99 = pct(calls[3].lat, 99);
    const ourP99 = Math.max(pct(calls[1].lat, 99), pct(calls[2].lat, 99));
    const where = `Machine: ${machine()}; load average at the end ${loadAverage()}.`;
    return [{
      title: 'Project link throughput: a burst through Mosquitto, ours vs FlowFuse vs bare mqtt.js',
      method: `A function node emits ${count(BURST)} messages in one go into \`project link out\` (ours publishes QoS 1, FlowFuse's QoS 2) on a sender Node-RED (HA off); ` +
        `\`project link in\` on the receiving instance counts them. msgs/s = delivered / (last arrival - burst request sent). ` +
        `Mosquitto 2.0.11 with its stock limits (Receive Maximum 20 unacknowledged publishes per client, 1000 queued messages per subscriber) ` +
        `and a second one with neither limit; both with set_tcp_nodelay. ` +
        `FlowFuse: @flowfuse/nr-project-nodes 0.7.8 on plain Node-RED, same flows. Bare: one mqtt.js process publishing at QoS 1 or 2 within the broker's Receive Maximum, ` +
        `one subscribing to the shared subscription. ${BURST_RUNS} bursts per row after a warm-up, configurations taking turns; ` +
        `delivered/sent lists every run, msgs/s is the median. ${where}`,
      headers: ['configuration', 'broker', 'publish QoS', 'delivered/sent per run', 'msgs/s', 'vs FlowFuse (same broker)', 'vs bare mqtt.js (same broker and QoS)'],
      rows: throughputRows,
      notes: throughputNotes,
    }, {
      title: 'Project link call round trip: ours vs FlowFuse vs bare mqtt.js',
      method: `Up to ${count(CALLS)} sequential \`project link call\`s or ${CALL_SECONDS} s, whichever ends first (x ${CALL_RUNS} runs), from a sender Node-RED to a responder flow ` +
        `(\`project link in\` -> \`project link out\` in return mode), on the stock-limits Mosquitto; ours publishes QoS 1, FlowFuse's and bare mqtt.js QoS 2; latency measured inside the ` +
        `caller's flow with process.hrtime from before the call node to its output. Bare: mqtt.js request/response (response topic and ` +
        `correlation data) between two processes. ${where}`,
      headers: ['configuration', 'calls', 'p50 ms', 'p99 ms', 'p99 vs FlowFuse', 'p99 vs bare mqtt.js'],
      rows: callRows,
      notes: [
        ...(pct(calls[1].lat, 50) > 10 * pct(calls[0].lat, 50) ? [
          'Node-RED\'s link clients (ours and FlowFuse\'s) leave Nagle\'s algorithm on their MQTT socket, so a QoS 2 handshake packet written right ' +
          'after another waits for the broker\'s delayed ACK (about 40 ms per direction). With TCP_NODELAY forced on every process\'s sockets ' +
          '(a diagnostic preload, not part of this run) the same calls took 3.0 ms p50 with ours and 3.2 ms with FlowFuse\'s.',
        ] : []),
        `Our worse call p99 ${ourP99.toFixed(2)} ms vs FlowFuse's ${ffP99.toFixed(2)} ms (target <= FlowFuse's: ${ourP99 <= ffP99 ? 'met' : `missed by ${(ourP99 - ffP99).toFixed(2)} ms`}).`,
      ],
    }];
  } finally {
    await closeAll(opened.reverse());
  }
}

if (require.main === module) {
  runAlone(linkBench);
}
