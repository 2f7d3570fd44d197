/**
 * The MQTT broker stopped for 5 s and started again while an instance keeps sending to a
 * 2-replica instance over project links: what the nodes show, whether they reconnect, and that
 * every message sent is either delivered or reported to the sender's catch node.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpLoad, tally } from '../harness/load';
import { MosquittoServer } from '../harness/mosquitto';
import { NodeRed } from '../harness/node-red';
import { Figures, seconds } from './support';
import { eventually } from '../harness/poll';

const TEAM = 'faults';
const SCENARIO = 'broker down 5 s';
const OUTAGE_MS = 5_000;
/** A message whose HTTP request started this long before the broker stopped may still have been on its way. */
const IN_FLIGHT_MS = 1000;
/** Counters stay in memory: this scenario has no Redis. */
const SETTINGS = { contextStorage: { default: { module: 'memory' } } };

/** Records every status change of the link nodes on this tab: GET /statuses. */
const statusRecorder = (z: string) => [
  { id: `${z}-status`, z, type: 'status', scope: null, wires: [[`${z}-status-rec`]] },
  { id: `${z}-status-rec`, z, type: 'function', outputs: 1, wires: [],
    func: 'const list = global.get("statuses") || []; list.push({ at: Date.now(), type: msg.status.source.type, text: msg.status.text }); global.set("statuses", list); return null;' },
  ...expose(z, 'statuses'),
];
/** GET /<key> answers with the global value `key`. */
const expose = (z: string, key: string) => [
  { id: `${z}-${key}-get`, z, type: 'http in', url: `/${key}`, method: 'get', wires: [[`${z}-${key}-fn`]] },
  { id: `${z}-${key}-fn`, z, type: 'function', outputs: 1, wires: [[`${z}-${key}-res`]], func: `msg.payload = global.get('${key}') || []; return msg;` },
  { id: `${z}-${key}-res`, z, type: 'http response', wires: [] },
];

/** GET /send sends the next id to instance `dst` and answers with it; send failures land in GET /errors. */
const SENDER_FLOW = [
  { id: 's', type: 'tab', label: 'sender' },
  { id: 's-http', z: 's', type: 'http in', url: '/send', method: 'get', wires: [['s-id']] },
  { id: 's-id', z: 's', type: 'function', outputs: 2, wires: [['s-res'], ['s-out']],
    func: 'const id = flow.get("next") || 0; flow.set("next", id + 1); msg.payload = { id }; return [msg, { id, payload: id }];' },
  { id: 's-res', z: 's', type: 'http response', wires: [] },
  { id: 's-out', z: 's', type: 'project link out', name: '', mode: 'link', broadcast: false, project: 'dst', topic: 'work', wires: [] },
  { id: 's-catch', z: 's', type: 'catch', scope: ['s-out'], uncaught: false, wires: [['s-err']] },
  { id: 's-err', z: 's', type: 'function', outputs: 1, wires: [],
    func: 'const list = global.get("errors") || []; list.push({ id: msg.id, error: msg.error.message }); global.set("errors", list); return null;' },
  ...expose('s', 'errors'),
  ...statusRecorder('s'),
];

/** Each replica of `dst` records the ids it handled: GET /seen. */
const RECEIVER_FLOW = [
  { id: 'r', type: 'tab', label: 'receiver' },
  { id: 'r-in', z: 'r', type: 'project link in', name: '', project: '', broadcast: false, topic: 'work', wires: [['r-rec']] },
  { id: 'r-rec', z: 'r', type: 'function', outputs: 1, wires: [],
    func: 'const seen = global.get("seen") || []; seen.push(msg.id); global.set("seen", seen); return null;' },
  ...expose('r', 'seen'),
  ...statusRecorder('r'),
];

interface Status { at: number; type: string; text: string }

describe('Mosquitto stopped for 5 s and restarted', () => {
  const figures = new Figures('broker');
  let broker: MosquittoServer;
  let sender: NodeRed;
  let receivers: NodeRed[] = [];

  before(async () => {
    broker = await MosquittoServer.start();
    const env = (instance: string, replica: string, ha: boolean) => ({
      ...(ha ? { NR_HA_ENABLED: 'true' } : {}), NR_HA_INSTANCE: instance, NR_HA_REPLICA: replica, NR_HA_TEAM: TEAM, NR_HA_MQTT_URL: broker.url,
    });
    [sender, ...receivers] = await Promise.all([
      NodeRed.start({ name: 'src', flows: SENDER_FLOW, settings: SETTINGS, env: env('src', 'src-1', false) }),
      ...[1, 2].map((i) => NodeRed.start({ name: `dst-${i}`, flows: RECEIVER_FLOW, settings: SETTINGS, env: env('dst', `dst-${i}`, true) })),
    ]);
    await Promise.all(receivers.map((r) => r.proc.waitForLine(/Project link subscribed to \$share\/dst\//, 60_000)));
  });
  after(async () => {
    figures.print();
    await Promise.all([sender, ...receivers].map((nr) => nr?.close()));
    await broker?.close();
  });

  const statuses = async (nr: NodeRed): Promise<Status[]> => (await nr.request('GET', '/statuses')).json as Status[];
  const latest = (list: Status[], type: string) => list.filter((s) => s.type === type).pop()?.text;

  test('nodes show the outage and reconnect; every message sent arrives or fails with a clear error on the sender', async () => {
    const load = new HttpLoad({ port: sender.port, path: '/send', ratePerSecond: 20, maxDurationMs: 90_000 }).start();
    let downAt = 0;
    let upAt = 0;
    let reconnectedAt = 0;
    try {
      await eventually(async () => assert.ok(load.ok.length >= 20), 20_000);
      const marks = [sender, ...receivers].map((nr) => nr.proc.lines.length);
      downAt = Date.now();
      await broker.stop();
      // Every node on both sides says it lost the broker.
      await eventually(async () => {
        assert.match(latest(await statuses(sender), 'project link out') ?? '', /disconnected|reconnecting|error/);
        for (const r of receivers) assert.match(latest(await statuses(r), 'project link in') ?? '', /disconnected|reconnecting|error/);
      }, 5000);
      figures.add(SCENARIO, 'broker stopped -> every link node status shows it', seconds(Date.now() - downAt));
      const downFor = OUTAGE_MS - (Date.now() - downAt);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, downFor)));
      for (const [i, nr] of [sender, ...receivers].entries()) {
        assert.match(nr.proc.lines.slice(marks[i]).join('\n'), /Project link connection error: .*(ECONNREFUSED|ECONNRESET)/, `${nr.options.name} logs the lost broker`);
      }
      await broker.restart();
      upAt = Date.now();
      await eventually(async () => {
        assert.equal(latest(await statuses(sender), 'project link out'), 'connected');
        for (const r of receivers) assert.equal(latest(await statuses(r), 'project link in'), 'connected');
      }, 15_000);
      reconnectedAt = Date.now();
      const mark = load.ok.length;
      await eventually(async () => assert.ok(load.ok.length >= mark + 60), 20_000);
    } finally {
      await load.stop();
    }

    const sent = load.ok.map((r) => JSON.parse(r.body).id as number);
    const whenSent = new Map(load.ok.map((r) => [JSON.parse(r.body).id as number, r.at]));
    const readSeen = async () => (await Promise.all(receivers.map(async (r) => (await r.request('GET', '/seen')).json as number[]))).flat();
    const readErrors = async () => (await sender.request('GET', '/errors')).json as Array<{ id: number; error: string }>;
    // Queued messages go out after the reconnect (or fail once the queue deadline passes): wait until each is accounted for.
    await eventually(async () => {
      const done = new Set([...await readSeen(), ...(await readErrors()).map((e) => e.id)]);
      assert.ok(sent.every((id) => done.has(id)));
    }, 20_000, 500).catch(() => undefined);
    const seen = await readSeen();
    const errors = await readErrors();
    const arrived = new Set(seen);
    const failed = new Map(errors.map((e) => [e.id, e.error]));
    // Sent while the broker was down, or still on their way (a request, a publish) when it stopped.
    const during = sent.filter((id) => whenSent.get(id)! >= downAt - IN_FLIGHT_MS && whenSent.get(id)! < upAt);
    const silent = sent.filter((id) => !arrived.has(id) && !failed.has(id));

    figures.add(SCENARIO, 'HTTP requests to the sending instance (failed)', `${load.results.length} (${load.failed.length})`);
    figures.add(SCENARIO, 'broker back -> every link node connected', seconds(reconnectedAt - upAt));
    figures.add(SCENARIO, 'link messages sent in all / while the broker was down (or in flight when it stopped)', `${sent.length} / ${during.length}`);
    figures.add(SCENARIO, 'sent while down: arrived / failed with an error / lost silently',
      `${during.filter((id) => arrived.has(id)).length} / ${during.filter((id) => failed.has(id)).length} / ${during.filter((id) => silent.includes(id)).length}`);
    figures.add(SCENARIO, 'all messages: lost silently / handled twice', `${silent.length} / ${seen.length - arrived.size}`);

    assert.equal(load.failed.length, 0, `the sending instance's HTTP flow keeps answering: ${JSON.stringify(tally(load.results))}`);
    assert.ok(during.length >= 60, `messages were sent during the outage (${during.length})`);
    // "connected" is shown at CONNACK; the receivers' subscriptions follow within moments.
    const after = sent.filter((id) => whenSent.get(id)! >= reconnectedAt + IN_FLIGHT_MS);
    assert.ok(after.length >= 20, `messages were sent after the reconnect (${after.length})`);
    assert.deepEqual(after.filter((id) => !arrived.has(id)), [], 'messages sent after the reconnect arrive');
    for (const [id, error] of failed) assert.match(error, /broker|queue|project link/, `message ${id} failed with a clear error`);
    // The sender is usually back before the receivers have subscribed again; what it publishes
    // meanwhile must wait for them, not vanish in the broker.
    assert.deepEqual(silent, [], `messages neither delivered nor reported: ${silent.join(', ')}`);
    assert.equal(arrived.size + failed.size, sent.length, 'delivered + reported = sent');
    assert.equal(seen.length, arrived.size, 'no message handled twice');
  });
});
