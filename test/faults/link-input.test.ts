/**
 * Bad input on the link topics: malformed and oversized payloads published straight to an HA
 * instance's `project link in` topic with mqtt.js. Each is dropped with an error naming why; the
 * replica keeps running, later messages are handled and nothing stored changes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { MqttClient } from 'mqtt';
import { MosquittoServer } from '../harness/mosquitto';
import { NodeRed } from '../harness/node-red';
import { RedisServer } from '../harness/redis';
import { Figures, KEEP_FLOW, storedState } from './support';
import { eventually } from '../harness/poll';

const TOKEN = 'link-input-sync-token';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const WORK_TOPIC = 'ff/v1/default/p/bad/in/work';

/**
 * Link messages on `work` are recorded in the shared context (key "received.<id>": its keys and
 * whether a prototype changed); GET /received reads them.
 */
const FLOWS = [
  ...KEEP_FLOW,
  { id: 't', type: 'tab', label: 'link input' },
  { id: 'in', z: 't', type: 'project link in', name: '', project: '', broadcast: false, topic: 'work', wires: [['rec']] },
  { id: 'rec', z: 't', type: 'function', outputs: 1, wires: [],
    func: `const entry = { id: msg.id, keys: Object.keys(msg).filter((k) => k !== '_msgid' && k !== 'projectLink').sort(), polluted: ({}).polluted === true };
      global.set('received.' + msg.id, entry, (err) => err && node.error(err));
      return null;` },
  { id: 'res', z: 't', type: 'http response', wires: [] },
  { id: 'get-received', z: 't', type: 'http in', url: '/received', method: 'get', wires: [['read-received']] },
  { id: 'read-received', z: 't', type: 'function', outputs: 1, wires: [['res']],
    func: "global.get('received', (err, v) => { msg.payload = err ? { error: err.message } : (v || {}); node.send(msg); }); return null;" },
];

describe('bad input on the link topics', () => {
  const figures = new Figures('link input');
  let redis: RedisServer;
  let broker: MosquittoServer;
  let nr: NodeRed;
  let client: MqttClient;

  before(async () => {
    [redis, broker] = await Promise.all([RedisServer.start(), MosquittoServer.start()]);
    nr = await NodeRed.start({
      name: 'bad-1', flows: FLOWS,
      env: { NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'bad', NR_HA_REPLICA: 'bad-1', NR_HA_REDIS_URL: redis.url, NR_HA_MQTT_URL: broker.url, NR_HA_SYNC_TOKEN: TOKEN },
    });
    await nr.proc.waitForLine(/Project link subscribed to \$share\/bad\//, 60_000);
    await nr.proc.waitForLine(/Started flows/);
    assert.deepEqual((await nr.request('POST', '/seed', { nested: { list: [1, 2, 3] }, text: 'kept' })).json, { ok: true });
    client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'link-input-test' });
  });
  after(async () => {
    figures.print();
    await client?.endAsync(true);
    await nr?.close();
    await Promise.all([redis?.close(), broker?.close()]);
  });

  const stored = () => storedState(nr, AUTH);

  test('malformed and oversized link payloads: each dropped with an error naming why, later messages still handled', async () => {
    const before = await stored();
    const cases: Array<[string, string | Buffer, RegExp]> = [
      ['not JSON', '{"id": 1,', /link payload is not JSON/],
      ['an array', '[1, 2, 3]', /must be a JSON object \(a msg\), got an array/],
      ['null', 'null', /must be a JSON object \(a msg\), got null/],
      ['a string', '"just text"', /must be a JSON object \(a msg\), got string/],
      ['binary garbage', Buffer.from([0xff, 0x00, 0xfe, 0x01]), /link payload is not JSON/],
      ['over the 16 MiB limit', Buffer.alloc(16 * 1024 * 1024 + 1, 0x20), /link payload of 16777217 bytes is larger than the 16777216-byte limit/],
    ];
    const mark = nr.proc.lines.length;
    for (const [, payload] of cases) await client.publishAsync(WORK_TOPIC, payload, { qos: 1 });
    // Valid messages after the bad ones; one tries to smuggle a function and a prototype change in.
    await client.publishAsync(WORK_TOPIC, JSON.stringify({ id: 'fn', code: { type: 'function', data: 'process.exit(3)' } }), { qos: 1 });
    await client.publishAsync(WORK_TOPIC, '{"id": "proto", "__proto__": {"polluted": true}}', { qos: 1 });
    await client.publishAsync(WORK_TOPIC, JSON.stringify({ id: 'after', payload: 1 }), { qos: 1 });

    const received = await eventually(async () => {
      const byId = (await nr.request('GET', '/received')).json as Record<string, { id: string; keys: string[]; polluted: boolean }>;
      assert.deepEqual(Object.keys(byId).sort(), ['after', 'fn', 'proto']);
      return ['fn', 'proto', 'after'].map((id) => byId[id]);
    }, 20_000, 200);
    assert.deepEqual(received[0].keys, ['id'], 'the function wrapper is dropped, never revived');
    assert.ok(received.every((e) => !e.polluted), 'no prototype was changed');
    const log = nr.proc.lines.slice(mark).join('\n');
    for (const [label, , message] of cases) {
      assert.match(log, new RegExp(`project link in: message on ${WORK_TOPIC} dropped: .*${message.source}`), `${label}: ${message}`);
    }
    figures.add('link payloads', 'malformed / oversized payloads dropped with a named error', `${cases.length} of ${cases.length}`);
    figures.add('link payloads', 'valid messages after them handled', `${received.length} of 3`);
    assert.ok(nr.proc.alive, 'the replica keeps running');
    assert.deepEqual(await stored(), before, 'nothing stored changed');
  });
});
