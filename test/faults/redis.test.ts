/**
 * Redis stopped for 10 s and restarted (append-only file, fsync always, so a restart keeps what it
 * acknowledged) under HTTP load on 2 replicas, while a writer keeps setting shared context keys.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpLoad, tally } from '../harness/load';
import { NodeRed } from '../harness/node-red';
import { RedisServer } from '../harness/redis';
import { Figures, seconds } from './support';
import { eventually } from '../harness/poll';

const OUTAGE_MS = 10_000;
const LEASE_MS = 2000;
/** The user's own default store stays memory; the shared store is named explicitly ("ha"). */
const SETTINGS = { contextStorage: { default: { module: 'memory' } } };
const FAIL = 'msg.statusCode = 503; msg.payload = { code: err.code, error: err.message };';

const FLOWS = [
  { id: 'api', type: 'tab', label: 'api' },
  { id: 'res', z: 'api', type: 'http response', wires: [] },
  // No shared state: must keep answering whatever Redis does.
  { id: 'ping-in', z: 'api', type: 'http in', url: '/ping', method: 'get', wires: [['ping-fn']] },
  { id: 'ping-fn', z: 'api', type: 'function', outputs: 1, wires: [['res']], func: 'msg.payload = { replica: env.get("NR_HA_REPLICA") }; return msg;' },
  // GET /write?k=K: global "w.K" = K in the shared store, answered once Redis acknowledged it (or refused).
  { id: 'write-in', z: 'api', type: 'http in', url: '/write', method: 'get', wires: [['write-fn']] },
  { id: 'write-fn', z: 'api', type: 'function', outputs: 1, wires: [['res']],
    func: `const k = Number(msg.req.query.k);
      global.set('w.k' + k, k, 'ha', (err) => { if (err) { ${FAIL} } else { msg.payload = { ok: true }; } node.send(msg); });
      return null;` },
  // GET /written: the whole "w" object from the shared store.
  { id: 'read-in', z: 'api', type: 'http in', url: '/written', method: 'get', wires: [['read-fn']] },
  { id: 'read-fn', z: 'api', type: 'function', outputs: 1, wires: [['res']],
    func: `global.get('w', 'ha', (err, value) => { if (err) { ${FAIL} } else { msg.payload = value || {}; } node.send(msg); }); return null;` },
  // GET /mark?text=T: a warning in the log, to follow log shipping through the outage.
  { id: 'mark-in', z: 'api', type: 'http in', url: '/mark', method: 'get', wires: [['mark-fn']] },
  { id: 'mark-fn', z: 'api', type: 'function', outputs: 1, wires: [['res']], func: 'node.warn(msg.req.query.text); msg.payload = { ok: true }; return msg;' },
];

interface Write { k: number; at: number; status: number; code?: string }

describe('Redis stopped for 10 s and restarted', () => {
  const figures = new Figures('redis');
  let redis: RedisServer;
  let replicas: NodeRed[] = [];

  before(async () => {
    redis = await RedisServer.start({ persist: true });
    const env = (n: number) => ({
      NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'store', NR_HA_REPLICA: `store-${n}`, NR_HA_REDIS_URL: redis.url, NR_HA_LEASE_MS: String(LEASE_MS),
    });
    replicas = await Promise.all([1, 2].map((n) => NodeRed.start({ name: `store-${n}`, env: env(n), flows: FLOWS, settings: SETTINGS })));
    await Promise.all(replicas.map((r) => r.proc.waitForLine(/Started flows/)));
    await eventually(async () => assert.ok((await replicas[0].request('GET', '/ha/status')).json.leader), 20_000);
  });
  after(async () => {
    figures.print();
    await Promise.all(replicas.map((r) => r.close()));
    await redis?.close();
  });

  test('HTTP keeps answering, context calls fail clearly, leader and log shipping recover, no acknowledged write is lost', async () => {
    const loads = replicas.map((r) => new HttpLoad({ port: r.port, path: '/ping', ratePerSecond: 20, maxDurationMs: 90_000 }).start());
    const writes: Write[] = [];
    let writing = true;
    // One writer, one key per write, alternating replicas; bounded by count as well as by `writing`.
    const writer = (async () => {
      for (let k = 0; writing && k < 2000; k++) {
        const at = Date.now();
        const res = await replicas[k % 2].request('GET', `/write?k=${k}`);
        writes.push({ k, at, status: res.status, code: res.json?.code });
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    let downAt = 0;
    let upAt = 0;
    let leaderBackAt = 0;
    const markText = `fault-suite-mark-${Date.now()}`;
    try {
      await eventually(async () => assert.ok(writes.filter((w) => w.status === 200).length >= 20), 20_000);
      const leaderId = (await replicas[0].request('GET', '/ha/status')).json.leader as string;
      const leader = replicas.find((r) => r.options.name === leaderId)!;
      const mark = leader.proc.lines.length;
      downAt = Date.now();
      await redis.stop();
      // A leader that cannot renew its lease steps down rather than act alone.
      await leader.proc.waitForLine(/no longer the leader/, LEASE_MS + 3000, mark);
      const refused = await eventually(async () => {
        const res = await replicas[1].request('GET', '/write?k=-1');
        assert.equal(res.status, 503, res.text);
        return res.json as { code: string; error: string };
      }, 5000);
      figures.add('Redis down 10 s', 'context write while down answers', `${refused.code}: ${refused.error}`);
      assert.equal(refused.code, 'HA_CONTEXT_UNAVAILABLE');
      assert.match(refused.error, /Shared context \(store "ha"\) unavailable/);
      const read = await replicas[0].request('GET', '/written');
      assert.equal(read.status, 503, read.text);
      assert.equal(read.json.code, 'HA_CONTEXT_UNAVAILABLE');
      for (const r of replicas) assert.equal((await r.request('GET', `/mark?text=${markText}-${r.options.name}`)).status, 200);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
      await redis.restart();
      upAt = Date.now();
      await eventually(async () => {
        const statuses = await Promise.all(replicas.map(async (r) => (await r.request('GET', '/ha/status')).json));
        assert.equal(new Set(statuses.map((s) => s.leader)).size, 1, JSON.stringify(statuses));
        assert.ok(statuses[0].leader, 'a leader again');
      }, 20_000);
      leaderBackAt = Date.now();
      const count = writes.length;
      await eventually(async () => assert.ok(writes.slice(count).filter((w) => w.status === 200).length >= 20), 20_000);
    } finally {
      writing = false;
      await writer;
      await Promise.all(loads.map((l) => l.stop()));
    }

    // Entries logged while Redis was down reach the combined log once it is back.
    const shippedAt = await eventually(async () => {
      const res = await replicas[0].request('GET', `/ha/logs?q=${markText}&limit=10`);
      assert.equal(res.json.source, 'redis', res.text);
      assert.deepEqual(res.json.entries.map((e: { replica: string }) => e.replica).sort(), ['store-1', 'store-2'], res.text);
      return Date.now();
    }, 15_000, 250);

    const stored = (await replicas[1].request('GET', '/written')).json as Record<string, number>;
    const acknowledged = writes.filter((w) => w.status === 200);
    const refusedWrites = writes.filter((w) => w.status !== 200);
    const lost = acknowledged.filter((w) => stored[`k${w.k}`] !== w.k);
    const results = loads.flatMap((l) => l.results);
    const during = results.filter((r) => r.at >= downAt && r.at < upAt);
    figures.add('Redis down 10 s', 'HTTP requests without shared state, all / during the outage (failed)', `${results.length} / ${during.length} (${results.length - results.filter((r) => r.status === 200).length})`);
    figures.add('Redis down 10 s', 'context writes acknowledged / refused with HA_CONTEXT_UNAVAILABLE / other', `${acknowledged.length} / ${refusedWrites.filter((w) => w.code === 'HA_CONTEXT_UNAVAILABLE').length} / ${refusedWrites.filter((w) => w.code !== 'HA_CONTEXT_UNAVAILABLE').length}`);
    figures.add('Redis down 10 s', 'acknowledged writes lost after the restart', lost.length);
    figures.add('Redis down 10 s', 'refused writes found stored anyway', refusedWrites.filter((w) => stored[`k${w.k}`] === w.k).length);
    figures.add('Redis down 10 s', 'Redis back -> one leader again', seconds(leaderBackAt - upAt));
    figures.add('Redis down 10 s', 'Redis back -> log lines from the outage in /ha/logs (at most)', seconds(shippedAt - upAt));

    for (const load of loads) assert.equal(load.failed.length, 0, `HTTP without shared state keeps answering: ${JSON.stringify(tally(load.results))}`);
    assert.ok(during.length >= 200, `requests were made during the outage (${during.length})`);
    assert.deepEqual(refusedWrites.filter((w) => w.code !== 'HA_CONTEXT_UNAVAILABLE'), [], 'every refused write says the shared context is unavailable');
    assert.ok(refusedWrites.length >= 50, `writes were refused during the outage (${refusedWrites.length})`);
    assert.deepEqual(lost.map((w) => w.k), [], 'every acknowledged write is still there');
  });
});
