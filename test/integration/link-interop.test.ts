import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { flowFuseSettings } from '../harness/flowfuse';
import { MosquittoServer } from '../harness/mosquitto';
import { NodeRed } from '../harness/node-red';

const TEAM = 'team1';

/**
 * The same flow for both sides (the node types and properties are the same): receive on `to-<me>`
 * and record, answer `double-<me>` calls, POST /send?n=N sends to the other side, GET /call?n=N calls it.
 */
function flow(me: string, other: string) {
  const z = `tab-${me}`;
  const list = (id: string, path: string, key: string) => [
    { id: `${id}-get`, z, type: 'http in', url: path, method: 'get', wires: [[`${id}-fn`]] },
    { id: `${id}-fn`, z, type: 'function', outputs: 1, func: `msg.payload = global.get('${key}') || []; return msg;`, wires: [[`${id}-res`]] },
    { id: `${id}-res`, z, type: 'http response', wires: [] },
  ];
  return [
    { id: z, type: 'tab', label: me },
    { id: `${me}-in`, z, type: 'project link in', name: '', project: '', broadcast: false, topic: `to-${me}`, wires: [[`${me}-rec`]] },
    { id: `${me}-rec`, z, type: 'function', outputs: 1, wires: [],
      func: 'const seen = global.get("seen") || []; seen.push({ id: msg.id, buf: Buffer.isBuffer(msg.payload) ? msg.payload.toString("hex") : null, from: msg.projectLink && msg.projectLink.instanceId }); global.set("seen", seen); return null;' },
    ...list(`${me}-seen`, '/seen', 'seen'),
    { id: `${me}-din`, z, type: 'project link in', name: '', project: '', broadcast: false, topic: `double-${me}`, wires: [[`${me}-dfn`]] },
    { id: `${me}-dfn`, z, type: 'function', outputs: 1, wires: [[`${me}-ret`]], func: `msg.payload = msg.payload * 2; msg.by = '${me}'; return msg;` },
    { id: `${me}-ret`, z, type: 'project link out', name: '', mode: 'return', broadcast: false, project: '', topic: '', wires: [] },
    { id: `${me}-send`, z, type: 'http in', url: '/send', method: 'post', wires: [[`${me}-gen`, `${me}-ok`]] },
    { id: `${me}-ok`, z, type: 'http response', wires: [] },
    { id: `${me}-gen`, z, type: 'function', outputs: 1, wires: [[`${me}-out`]],
      func: 'const n = Number(msg.req.query.n); for (let i = 0; i < n; i++) node.send({ id: i, payload: Buffer.from([i % 256, 7]) }); return null;' },
    { id: `${me}-out`, z, type: 'project link out', name: '', mode: 'link', broadcast: false, project: other, topic: `to-${other}`, wires: [] },
    { id: `${me}-call`, z, type: 'http in', url: '/call', method: 'get', wires: [[`${me}-cgen`, `${me}-cok`]] },
    { id: `${me}-cok`, z, type: 'http response', wires: [] },
    { id: `${me}-cgen`, z, type: 'function', outputs: 1, wires: [[`${me}-caller`]],
      func: 'const n = Number(msg.req.query.n); for (let i = 0; i < n; i++) node.send({ id: i, payload: i }); return null;' },
    { id: `${me}-caller`, z, type: 'project link call', name: '', project: other, topic: `double-${other}`, timeout: '20', wires: [[`${me}-crec`]] },
    { id: `${me}-crec`, z, type: 'function', outputs: 1, wires: [],
      func: 'const got = global.get("replies") || []; got.push({ id: msg.id, payload: msg.payload, by: msg.by }); global.set("replies", got); return null;' },
    ...list(`${me}-replies`, '/replies', 'replies'),
  ];
}

async function poll<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > until) assert.fail(`${what}: not reached within ${timeoutMs} ms; last ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

describe("interop with FlowFuse's project nodes on one broker", () => {
  let broker: MosquittoServer;
  let ours: NodeRed;
  let theirs: NodeRed;

  before(async () => {
    broker = await MosquittoServer.start();
    [ours, theirs] = await Promise.all([
      NodeRed.start({ name: 'ours', flows: flow('ours', 'ffi'), settings: { contextStorage: { default: { module: 'memory' } } },
        env: { NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'ours', NR_HA_REPLICA: 'ours-1', NR_HA_TEAM: TEAM, NR_HA_MQTT_URL: broker.url } }),
      NodeRed.start({ name: 'flowfuse', flows: flow('ffi', 'ours'), wrap: false, settings: flowFuseSettings({ instance: 'ffi', team: TEAM, brokerUrl: broker.url }) }),
    ]);
    await ours.proc.waitForLine(/Project link subscribed to \$share\/ours\/ff\/v1\/team1\/p\/ours\/in\/double-ours/, 30_000);
    await theirs.proc.waitForLine(/Project Link nodes connected/, 30_000);
    const types = await theirs.request('GET', '/nodes', undefined, { Accept: 'application/json' });
    assert.ok(JSON.stringify(types.json).includes('@flowfuse/nr-project-nodes'), 'the FlowFuse instance runs FlowFuse\'s nodes');
    assert.ok(!JSON.stringify(types.json).includes('"node-red-ha"'), 'and not ours');
  });
  after(async () => {
    await Promise.all([ours?.close(), theirs?.close()]);
    await broker?.close();
  });

  // FlowFuse's nodes publish without flow control: more than the broker's Receive Maximum (20 on a
  // stock Mosquitto) at once and it refuses the excess. Its bursts here stay below that.
  for (const [from, to, n] of [['ours', 'flowfuse', 200], ['flowfuse', 'ours', 15]] as const) {
    test(`${from} sends to ${to}: every message arrives with its Buffer payload`, async () => {
      const [sender, receiver] = from === 'ours' ? [ours, theirs] : [theirs, ours];
      assert.equal((await sender.request('POST', `/send?n=${n}`)).status, 200);
      const seen = await poll(`all ${n} received`, async () => (await receiver.request('GET', '/seen')).json as Array<{ id: number; buf: string; from: string }>,
        (s) => s.length >= n, 30_000);
      assert.equal(seen.length, n);
      assert.deepEqual(seen.map((s) => s.id).sort((a, b) => a - b), [...Array(n).keys()]);
      for (const s of seen) assert.equal(s.buf, Buffer.from([s.id % 256, 7]).toString('hex'));
      assert.deepEqual([...new Set(seen.map((s) => s.from))], [from === 'ours' ? 'ours' : 'ffi']);
    });

    test(`${from} calls ${to}: every call gets its own answer`, async () => {
      const [caller] = from === 'ours' ? [ours, theirs] : [theirs, ours];
      const calls = Math.min(n, 15);
      assert.equal((await caller.request('GET', `/call?n=${calls}`)).status, 200);
      const replies = await poll(`all ${calls} answered`, async () => (await caller.request('GET', '/replies')).json as Array<{ id: number; payload: number; by: string }>,
        (r) => r.length >= calls, 30_000);
      assert.equal(replies.length, calls);
      assert.deepEqual(replies.map((r) => r.id).sort((a, b) => a - b), [...Array(calls).keys()]);
      for (const r of replies) {
        assert.equal(r.payload, r.id * 2);
        assert.equal(r.by, from === 'ours' ? 'ffi' : 'ours');
      }
    });
  }
});
