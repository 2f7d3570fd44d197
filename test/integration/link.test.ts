import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { MosquittoServer } from '../harness/mosquitto';
import { NodeRed } from '../harness/node-red';

const TEAM = 'team1';
/** Every process keeps its counters in memory: no Redis in these tests. */
const SETTINGS = { contextStorage: { default: { module: 'memory' } } };

/** A function node that records msg.id in the global array `key`. */
const record = (id: string, z: string, key: string, wires: string[][] = []) => ({
  id, z, type: 'function', outputs: 1, wires,
  func: `const seen = global.get('${key}') || []; seen.push(msg.id); global.set('${key}', seen); return msg;`,
});
/** GET `path` answers with the global array `key`. */
const exposeList = (prefix: string, z: string, path: string, key: string) => [
  { id: `${prefix}-get`, z, type: 'http in', url: path, method: 'get', wires: [[`${prefix}-fn`]] },
  { id: `${prefix}-fn`, z, type: 'function', outputs: 1, func: `msg.payload = global.get('${key}') || []; return msg;`, wires: [[`${prefix}-res`]] },
  { id: `${prefix}-res`, z, type: 'http response', wires: [] },
];

/** The sending instance (HA off): POST /burst?n=N emits N messages at once into a link out. */
const SENDER_FLOW = [
  { id: 's', type: 'tab', label: 'sender' },
  { id: 's-http', z: 's', type: 'http in', url: '/burst', method: 'post', wires: [['s-gen', 's-ok']] },
  { id: 's-ok', z: 's', type: 'http response', wires: [] },
  { id: 's-gen', z: 's', type: 'function', outputs: 1, wires: [['s-out']],
    func: 'const n = Number(msg.req.query.n); for (let i = 0; i < n; i++) node.send({ id: i, payload: { i } }); return null;' },
  { id: 's-out', z: 's', type: 'project link out', name: '', mode: 'link', broadcast: false, project: 'recv', topic: 'work', wires: [] },
  // Error paths: a target id that cannot be a topic level, and a call nobody answers.
  { id: 's-bad', z: 's', type: 'project link out', name: '', mode: 'link', broadcast: false, project: 'no/such target', topic: 'x', wires: [] },
  { id: 's-void-http', z: 's', type: 'http in', url: '/call-void', method: 'post', wires: [['s-void', 's-void-ok']] },
  { id: 's-void-ok', z: 's', type: 'http response', wires: [] },
  { id: 's-void', z: 's', type: 'project link call', name: '', project: 'nobody', topic: 'void', timeout: '1', wires: [[]] },
  { id: 's-catch', z: 's', type: 'catch', scope: ['s-void'], uncaught: false, wires: [['s-caught']] },
  { id: 's-caught', z: 's', type: 'function', outputs: 1, wires: [],
    func: 'const c = global.get("caught") || []; c.push(msg.error.message); global.set("caught", c); return null;' },
  ...exposeList('s-caught-list', 's', '/caught', 'caught'),
];

/**
 * An instance with a 3 s queue deadline: POST /lost sends msg.id to an instance nobody runs and
 * broadcasts it to nobody; GET /caught lists what its catch node got.
 */
const LONELY_FLOW = [
  { id: 'l', type: 'tab', label: 'lonely sender' },
  { id: 'l-http', z: 'l', type: 'http in', url: '/lost', method: 'post', wires: [['l-id', 'l-ok']] },
  { id: 'l-ok', z: 'l', type: 'http response', wires: [] },
  { id: 'l-id', z: 'l', type: 'function', outputs: 1, wires: [['l-out', 'l-bcast']], func: 'return { id: Number(msg.req.query.id), payload: 1 };' },
  { id: 'l-out', z: 'l', type: 'project link out', name: '', mode: 'link', broadcast: false, project: 'absent', topic: 'x', wires: [] },
  { id: 'l-bcast', z: 'l', type: 'project link out', name: '', mode: 'link', broadcast: true, project: '', topic: 'news', wires: [] },
  { id: 'l-catch', z: 'l', type: 'catch', scope: ['l-out', 'l-bcast'], uncaught: false, wires: [['l-caught']] },
  { id: 'l-caught', z: 'l', type: 'function', outputs: 1, wires: [],
    func: 'const c = global.get("caught") || []; c.push({ id: msg.id, error: msg.error.message }); global.set("caught", c); return null;' },
  ...exposeList('l-caught-list', 'l', '/caught', 'caught'),
];

/**
 * The 3-replica instance: counts `work` messages (GET /seen) and makes link calls to the responder (GET /call?n=N, GET /replies).
 */
const RECEIVER_FLOW = [
  { id: 'r', type: 'tab', label: 'receiver' },
  { id: 'r-in', z: 'r', type: 'project link in', name: '', project: '', broadcast: false, topic: 'work', wires: [['r-rec']] },
  record('r-rec', 'r', 'seen'),
  ...exposeList('r-seen', 'r', '/seen', 'seen'),
  { id: 'r-call-http', z: 'r', type: 'http in', url: '/call', method: 'get', wires: [['r-call-gen', 'r-call-ok']] },
  { id: 'r-call-ok', z: 'r', type: 'http response', wires: [] },
  { id: 'r-call-gen', z: 'r', type: 'function', outputs: 1, wires: [['r-call']],
    func: 'const n = Number(msg.req.query.n); const me = env.get("NR_HA_REPLICA"); for (let i = 0; i < n; i++) node.send({ id: me + "/" + i, payload: i, caller: me }); return null;' },
  { id: 'r-call', z: 'r', type: 'project link call', name: '', project: 'resp', topic: 'double', timeout: '30', wires: [['r-reply']] },
  { id: 'r-reply', z: 'r', type: 'function', outputs: 1, wires: [],
    func: 'const got = global.get("replies") || []; got.push({ id: msg.id, caller: msg.caller, payload: msg.payload, responder: msg.responder }); global.set("replies", got); return null;' },
  ...exposeList('r-replies', 'r', '/replies', 'replies'),
  { id: 'r-quote-http', z: 'r', type: 'http in', url: '/quote', method: 'get', wires: [['r-quote-prep']] },
  { id: 'r-quote-prep', z: 'r', type: 'function', outputs: 1, wires: [['r-quote-call']], func: 'msg.payload = Number(msg.req.query.x); return msg;' },
  { id: 'r-quote-call', z: 'r', type: 'project link call', name: '', project: 'resp', topic: 'double', timeout: '30', wires: [['r-quote-res']] },
  { id: 'r-quote-res', z: 'r', type: 'http response', wires: [] },
];

/** The 2-replica responder: doubles msg.payload and returns it to the caller. */
const RESPONDER_FLOW = [
  { id: 'p', type: 'tab', label: 'responder' },
  { id: 'p-in', z: 'p', type: 'project link in', name: '', project: '', broadcast: false, topic: 'double', wires: [['p-fn']] },
  { id: 'p-fn', z: 'p', type: 'function', outputs: 1, wires: [['p-ret']],
    func: 'msg.payload = msg.payload * 2; msg.responder = env.get("NR_HA_REPLICA"); return msg;' },
  { id: 'p-ret', z: 'p', type: 'project link out', name: '', mode: 'return', broadcast: false, project: '', topic: '', wires: [] },
];

async function poll<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > until) assert.fail(`${what}: condition not met within ${timeoutMs} ms; last value ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

describe('project link nodes on a real broker', () => {
  let broker: MosquittoServer;
  let sender: NodeRed;
  let lonely: NodeRed;
  const receivers: NodeRed[] = [];
  const responders: NodeRed[] = [];

  const haEnv = (instance: string, replica: string) => ({
    NR_HA_ENABLED: 'true', NR_HA_INSTANCE: instance, NR_HA_REPLICA: replica, NR_HA_TEAM: TEAM, NR_HA_MQTT_URL: broker.url,
  });
  const subscribed = (nr: NodeRed, instance: string, topic: string) =>
    nr.proc.waitForLine(new RegExp(`Project link subscribed to \\$share/${instance}/ff/v1/${TEAM}/p/${instance}/in/${topic}$`), 60_000);

  before(async () => {
    broker = await MosquittoServer.start();
    const started = await Promise.all([
      NodeRed.start({ name: 'sender', flows: SENDER_FLOW, settings: SETTINGS,
        env: { NR_HA_INSTANCE: 'sender', NR_HA_REPLICA: 'sender-1', NR_HA_TEAM: TEAM, NR_HA_MQTT_URL: broker.url } }),
      ...[1, 2, 3].map((i) => NodeRed.start({ name: `recv-${i}`, flows: RECEIVER_FLOW, settings: SETTINGS, env: haEnv('recv', `recv-${i}`) })),
      ...[1, 2].map((i) => NodeRed.start({ name: `resp-${i}`, flows: RESPONDER_FLOW, settings: SETTINGS, env: haEnv('resp', `resp-${i}`) })),
      NodeRed.start({ name: 'lonely', flows: LONELY_FLOW, settings: SETTINGS,
        env: { NR_HA_INSTANCE: 'lonely', NR_HA_REPLICA: 'lonely-1', NR_HA_TEAM: TEAM, NR_HA_MQTT_URL: broker.url, NR_HA_LINK_QUEUE_TIMEOUT_MS: '3000' } }),
    ]);
    sender = started[0];
    lonely = started[6];
    receivers.push(...started.slice(1, 4));
    responders.push(...started.slice(4, 6));
    await Promise.all([
      ...receivers.map((r) => subscribed(r, 'recv', 'work')),
      ...responders.map((r) => subscribed(r, 'resp', 'double')),
    ]);
  });
  after(async () => {
    await Promise.all([sender, lonely, ...receivers, ...responders].map((nr) => nr?.close()));
    await broker?.close();
  });

  test('10,000 messages from another instance: each handled exactly once, by every replica in turn', async () => {
    const res = await sender.request('POST', '/burst?n=10000');
    assert.equal(res.status, 200);
    const lists = await poll('all 10,000 handled', () => Promise.all(receivers.map(async (r) => (await r.request('GET', '/seen')).json as number[])),
      (ls) => ls.reduce((n, l) => n + l.length, 0) >= 10_000, 90_000);
    const all = lists.flat();
    assert.equal(all.length, 10_000, 'handled count');
    assert.equal(new Set(all).size, 10_000, 'no message handled twice');
    for (const [i, list] of lists.entries()) assert.ok(list.length > 0, `replica recv-${i + 1} handled none`);
  });

  test('3 replicas calling a 2-replica responder at once: every call gets its own reply', async () => {
    const n = 300;
    const calls = await Promise.all(receivers.map((r) => r.request('GET', `/call?n=${n}`)));
    assert.deepEqual(calls.map((c) => c.status), [200, 200, 200]);
    const replies = await poll('every call answered', () => Promise.all(receivers.map(async (r) => (await r.request('GET', '/replies')).json as Array<{ id: string; caller: string; payload: number; responder: string }>)),
      (ls) => ls.every((l) => l.length >= n), 60_000);
    const responderIds = new Set<string>();
    for (const [i, list] of replies.entries()) {
      const me = `recv-${i + 1}`;
      assert.equal(list.length, n, `${me} got ${list.length} replies for ${n} calls`);
      assert.equal(new Set(list.map((r) => r.id)).size, n, `${me} got a reply twice`);
      for (const reply of list) {
        assert.equal(reply.caller, me, `a reply for ${reply.caller} reached ${me}`);
        assert.equal(reply.payload, Number(reply.id.split('/')[1]) * 2, `reply ${reply.id} carries another call's result`);
        responderIds.add(reply.responder);
      }
    }
    assert.deepEqual([...responderIds].sort(), ['resp-1', 'resp-2'], 'both responder replicas answered');
    // HTTP in -> call -> HTTP response: msg.req/res stay home and come back with the reply.
    const quote = await receivers[0].request('GET', '/quote?x=21');
    assert.equal(quote.status, 200);
    assert.equal(quote.json, 42);
  });


  test('a message to an instance nobody runs is reported by the catch node once its deadline passes; a broadcast nobody hears is not', async () => {
    const sentAt = Date.now();
    for (const id of [1, 2, 3]) assert.equal((await lonely.request('POST', `/lost?id=${id}`)).status, 200);
    await poll('3 errors caught', async () => (await lonely.request('GET', '/caught')).json as Array<{ id: number; error: string }>,
      (c) => c.length >= 3, 15_000);
    // A broadcast nobody listens to is sent, not held: it must not be reported a moment later.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const caught = (await lonely.request('GET', '/caught')).json as Array<{ id: number; error: string }>;
    assert.deepEqual(caught.map((c) => c.id), [1, 2, 3], `each message reported once, in order: ${JSON.stringify(caught)}`);
    for (const c of caught) assert.match(c.error, /no one took the message on ff\/v1\/team1\/p\/absent\/in\/x within 3 s: nothing is subscribed to it/);
    assert.ok(Date.now() - sentAt >= 3000, 'held until the deadline, not failed at once');
  });

  test('bad input is reported by the node, never a crash', async () => {
    assert.ok(sender.proc.lines.some((l) => /\[error\] \[project link out:s-bad\] project link out: target instance must be 1-64 characters/.test(l)),
      'invalid target named in the log');
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'bad-input' });
    try {
      await client.publishAsync(`ff/v1/${TEAM}/p/recv/in/work`, 'not json', { qos: 1 });
      await client.publishAsync(`ff/v1/${TEAM}/p/recv/in/work`, '[1,2]', { qos: 1 });
      await Promise.race(receivers.map((r) => r.proc.waitForLine(/project link in: message on ff\/v1\/team1\/p\/recv\/in\/work dropped: link payload is not JSON/, 10_000)));
      await Promise.race(receivers.map((r) => r.proc.waitForLine(/dropped: link payload must be a JSON object \(a msg\), got an array/, 10_000)));
      // Replies to the HA-off sender's call node (reply level `res`): without and with unknown correlation data.
      await client.publishAsync(`ff/v1/${TEAM}/p/sender/res/void`, '{"payload":1}', { qos: 1 });
      await sender.proc.waitForLine(/reply on ff\/v1\/team1\/p\/sender\/res\/void has no correlation data; dropped/, 10_000);
      await client.publishAsync(`ff/v1/${TEAM}/p/sender/res/void`, '{"payload":1}', { qos: 1, properties: { correlationData: Buffer.from('nope') } });
      await sender.proc.waitForLine(/matches no call in progress \(unknown correlation data\); dropped/, 10_000);
    } finally {
      await client.endAsync();
    }
    // A call nobody answers: a catchable error, the message completed. Which one depends on which
    // 1 s timer fires first: the call's own, or the outbound queue's for a request nobody took.
    assert.equal((await sender.request('POST', '/call-void')).status, 200);
    const caught = await poll('timeout caught', async () => (await sender.request('GET', '/caught')).json as string[], (c) => c.length >= 1, 15_000);
    assert.match(caught[0], /no reply from nobody on "void" within 1 s|no one took the message on ff\/v1\/team1\/p\/nobody\/in\/void within 1 s/);
    for (const nr of [sender, ...receivers]) assert.ok(nr.proc.alive, `${nr.proc.name} still running`);
    assert.equal((await receivers[0].request('GET', '/seen')).status, 200);
  });
});
