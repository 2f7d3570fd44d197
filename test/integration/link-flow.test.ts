import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MosquittoServer } from '../harness/mosquitto';
import { NodeRed } from '../harness/node-red';

const TEAM = 'team1';
const SETTINGS = { contextStorage: { default: { module: 'memory' } } };

const list = (prefix: string, z: string, path: string, key: string) => [
  { id: `${prefix}-get`, z, type: 'http in', url: path, method: 'get', wires: [[`${prefix}-fn`]] },
  { id: `${prefix}-fn`, z, type: 'function', outputs: 1, func: `msg.payload = global.get('${key}') || []; return msg;`, wires: [[`${prefix}-res`]] },
  { id: `${prefix}-res`, z, type: 'http response', wires: [] },
];

/**
 * HA-off sender: POST /burst?n=N emits N messages at once to instance `recv` (`&to=slow`: to
 * `slow`). A catch node on the link outs records the ids they report as failed (GET /caught).
 */
const SENDER_FLOW = [
  { id: 's', type: 'tab', label: 'sender' },
  { id: 's-burst', z: 's', type: 'http in', url: '/burst', method: 'post', wires: [['s-gen', 's-ok']] },
  { id: 's-ok', z: 's', type: 'http response', wires: [] },
  { id: 's-gen', z: 's', type: 'function', outputs: 2, wires: [['s-out'], ['s-out-slow']],
    func: 'const n = Number(msg.req.query.n); const slow = msg.req.query.to === "slow"; for (let i = 0; i < n; i++) { const m = { id: i, payload: { i } }; node.send(slow ? [null, m] : [m, null]); } return null;' },
  { id: 's-out', z: 's', type: 'project link out', name: '', mode: 'link', broadcast: false, project: 'recv', topic: 'work', wires: [] },
  { id: 's-out-slow', z: 's', type: 'project link out', name: '', mode: 'link', broadcast: false, project: 'slow', topic: 'work', wires: [] },
  { id: 's-catch', z: 's', type: 'catch', scope: ['s-out', 's-out-slow'], uncaught: false, wires: [['s-caught']] },
  { id: 's-caught', z: 's', type: 'function', outputs: 1, wires: [],
    func: 'const c = global.get("caught") || []; c.push(msg.id); global.set("caught", c); return null;' },
  ...list('s-caught-list', 's', '/caught', 'caught'),
];

/** 2-replica HA receiver: records every id (GET /seen), DELETE /seen forgets them. */
const RECEIVER_FLOW = [
  { id: 'r', type: 'tab', label: 'receiver' },
  { id: 'r-in', z: 'r', type: 'project link in', name: '', project: '', broadcast: false, topic: 'work', wires: [['r-rec']] },
  { id: 'r-rec', z: 'r', type: 'function', outputs: 1, wires: [],
    func: 'const seen = global.get("seen") || []; seen.push(msg.id); global.set("seen", seen); return null;' },
  ...list('r-seen', 'r', '/seen', 'seen'),
  { id: 'r-reset', z: 'r', type: 'http in', url: '/seen', method: 'delete', wires: [['r-reset-fn']] },
  { id: 'r-reset-fn', z: 'r', type: 'function', outputs: 1, func: 'global.set("seen", []); return msg;', wires: [['r-reset-res']] },
  { id: 'r-reset-res', z: 'r', type: 'http response', wires: [] },
];

/** One HA-off receiver whose flow takes longer per message than the sender needs to send one. */
const SLOW_RECEIVER_FLOW = RECEIVER_FLOW.map((node) => node.id === 'r-rec'
  ? { ...node, func: 'let x = 0; for (let i = 0; i < 2000; i++) x += Math.sqrt(i); msg.x = x; ' + (node as { func: string }).func }
  : node);

async function poll<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > until) assert.fail(`${what}: not reached within ${timeoutMs} ms; last ${JSON.stringify(value).slice(0, 200)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

describe('project link under pressure, stock Mosquitto', () => {
  let broker: MosquittoServer;
  let sender: NodeRed;
  let slow: NodeRed;
  const receivers: NodeRed[] = [];
  const seen = async () => (await Promise.all(receivers.map(async (r) => (await r.request('GET', '/seen')).json as number[])));

  before(async () => {
    broker = await MosquittoServer.start();
    const haEnv = (replica: string) => ({ NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'recv', NR_HA_REPLICA: replica, NR_HA_TEAM: TEAM, NR_HA_MQTT_URL: broker.url });
    const started = await Promise.all([
      NodeRed.start({ name: 'sender', flows: SENDER_FLOW, settings: SETTINGS,
        env: { NR_HA_INSTANCE: 'sender', NR_HA_TEAM: TEAM, NR_HA_MQTT_URL: broker.url } }),
      NodeRed.start({ name: 'recv-1', flows: RECEIVER_FLOW, settings: SETTINGS, env: haEnv('recv-1') }),
      NodeRed.start({ name: 'recv-2', flows: RECEIVER_FLOW, settings: SETTINGS, env: haEnv('recv-2') }),
      NodeRed.start({ name: 'slow', flows: SLOW_RECEIVER_FLOW, settings: SETTINGS,
        env: { NR_HA_INSTANCE: 'slow', NR_HA_TEAM: TEAM, NR_HA_MQTT_URL: broker.url } }),
    ]);
    [sender, , , slow] = started;
    receivers.push(started[1], started[2]);
    await Promise.all(receivers.map((r) => r.proc.waitForLine(/Project link subscribed to \$share\/recv\//, 60_000)));
    await slow.proc.waitForLine(/Project link subscribed to ff\/v1\/team1\/p\/slow\/in\/work/, 60_000);
  });
  after(async () => {
    await Promise.all([sender, slow, ...receivers].map((nr) => nr?.close()));
    await broker?.close();
  });

  for (const n of [5000, 50_000]) {
    test(`a burst of ${n} from one function node: every message handled exactly once`, async () => {
      await Promise.all(receivers.map((r) => r.request('DELETE', '/seen')));
      assert.equal((await sender.request('POST', `/burst?n=${n}`)).status, 200);
      const lists = await poll(`all ${n} handled`, seen, (ls) => ls.reduce((t, l) => t + l.length, 0) >= n, 150_000);
      const all = lists.flat();
      assert.equal(all.length, n);
      assert.equal(new Set(all).size, n, 'no message handled twice');
      assert.ok(lists.every((l) => l.length > 0), 'both replicas took part');
      assert.deepEqual((await sender.request('GET', '/caught')).json, [], 'nothing reported as failed');
      assert.equal(broker.proc!.lines.filter((l) => /dropped/i.test(l)).length, 0, `broker dropped messages:\n${broker.proc!.tail(5)}`);
    });
  }

  test('a burst of 50000 to one receiver slower than its sender: the receiver takes the excess off the broker, nothing is dropped', async () => {
    assert.equal((await sender.request('POST', '/burst?n=50000&to=slow')).status, 200);
    const dropped = () => broker.proc!.lines.filter((l) => /dropped/i.test(l));
    // A message the broker dropped never arrives: stop waiting at the broker's first "dropped" line.
    await poll('all 50000 handled', async () => ((await slow.request('GET', '/seen')).json as number[]).length, (n) => n >= 50_000 || dropped().length > 0, 120_000);
    assert.deepEqual(dropped(), [], 'the broker dropped none of the messages queued for the slow receiver');
    const list = (await slow.request('GET', '/seen')).json as number[];
    assert.equal(new Set(list).size, 50_000, 'each message handled once');
    assert.deepEqual((await sender.request('GET', '/caught')).json, [], 'nothing reported as failed');
  });

});
