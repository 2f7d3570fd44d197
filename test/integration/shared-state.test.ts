import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeRed } from '../harness/node-red';
import { RedisServer } from '../harness/redis';
import { eventually } from '../harness/poll';
import haContextStore from '../../lib/context';
import type { RedisContextStore } from '../../lib/context/store';

/** An HTTP endpoint backed by one function node, so tests drive context the way flows do. */
function endpoint(id: string, method: 'get' | 'post', url: string, func: string): object[] {
  return [
    { id: `in-${id}`, z: 'api', type: 'http in', url, method, wires: [[`fn-${id}`]] },
    { id: `fn-${id}`, z: 'api', type: 'function', func, outputs: 1, wires: [['respond']] },
  ];
}

const CONTEXT_OF = "const ctx = msg.req.query.scope === 'flow' ? flow : global;";
const FAIL = 'msg.statusCode = 503; msg.payload = { error: err.message, code: err.code };';

const FLOWS = [
  { id: 'api', type: 'tab', label: 'context API' },
  { id: 'respond', z: 'api', type: 'http response', wires: [] },
  ...endpoint('ping', 'get', '/ping', 'msg.payload = { replica: env.get("NR_HA_REPLICA") }; return msg;'),
  // n atomic increments in flight at once; answers when every one is acknowledged.
  ...endpoint('incr', 'get', '/incr', `
    const n = Number(msg.req.query.n); let pending = n; const errors = [];
    for (let i = 0; i < n; i++) {
      global.set('counter', { $incr: 1 }, (err) => {
        if (err) errors.push(err.message);
        if (--pending === 0) { msg.payload = { errors }; node.send(msg); }
      });
    }
    return null;`),
  // The atomic path without code: a change node setting {"$incr":1}.
  { id: 'in-change', z: 'api', type: 'http in', url: '/change-incr', method: 'get', wires: [['count-change']] },
  { id: 'count-change', z: 'api', type: 'change', rules: [{ t: 'set', p: 'viaChange', pt: 'global', to: '{"$incr":1}', tot: 'json' }], wires: [['respond']] },
  ...endpoint('get', 'get', '/get', `${CONTEXT_OF}
    const key = msg.req.query.key;
    if (msg.req.query.mode === 'sync') {
      try { msg.payload = { value: ctx.get(key) }; } catch (err) { ${FAIL} }
      return msg;
    }
    ctx.get(key, (err, value) => { if (err) { ${FAIL} } else { msg.payload = { value }; } node.send(msg); });
    return null;`),
  ...endpoint('set', 'post', '/set', `${CONTEXT_OF}
    const { key, value, mode } = msg.payload;
    if (mode === 'sync') {
      try { ctx.set(key, value); msg.payload = { ok: true }; } catch (err) { ${FAIL} }
      return msg;
    }
    ctx.set(key, value, (err) => { if (err) { ${FAIL} } else { msg.payload = { ok: true }; } node.send(msg); });
    return null;`),
  // n nested keys under one top-level key, all in flight at once.
  ...endpoint('nested', 'get', '/nested', `
    const n = Number(msg.req.query.n); let pending = n; const errors = [];
    for (let i = 0; i < n; i++) {
      global.set('tally.' + msg.req.query.prefix + i, i, (err) => {
        if (err) errors.push(err.message);
        if (--pending === 0) { msg.payload = { errors }; node.send(msg); }
      });
    }
    return null;`),
  ...endpoint('circular', 'get', '/circular', `
    const value = { name: 'loop' }; value.self = value;
    let thrown;
    try { global.set('loop', value); } catch (err) { thrown = { message: err.message, code: err.code }; }
    global.set('loop', value, (err) => { msg.payload = { thrown, callback: err && { message: err.message, code: err.code } }; node.send(msg); });
    return null;`),
];

/** Documented staleness bound of synchronous get (ContextStoreOptions.staleMs default). */
const SYNC_BOUND_MS = 2000;

describe('shared context across 3 replicas (store "ha")', () => {
  let redis: RedisServer;
  const replicas: NodeRed[] = [];

  before(async () => {
    redis = await RedisServer.start({ persist: true });
    const env = (n: number) => ({
      NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'shop', NR_HA_REPLICA: `shop-${n}`, NR_HA_REDIS_URL: redis.url, NR_HA_LEASE_MS: '2000',
    });
    replicas.push(...await Promise.all([1, 2, 3].map((n) => NodeRed.start({ name: `shop-${n}`, env: env(n), flows: FLOWS }))));
    await Promise.all(replicas.map((r) => r.proc.waitForLine(/Started flows/)));
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await redis?.close();
  });

  test('Node-RED runs the ha store as the default context store', () => {
    for (const r of replicas) {
      assert.ok(r.proc.lines.some((l) => /Context store\s*:\s*'ha' \[module=node-red-ha\/context\]/.test(l)), r.proc.output());
    }
  });

  test('3 replicas incrementing one counter under load through { $incr }: no increment lost', async () => {
    const rounds = 4;
    const perCall = 100;
    const calls = replicas.flatMap((r) => Array.from({ length: rounds }, () => r.request('GET', `/incr?n=${perCall}`)));
    const results = await Promise.all(calls);
    for (const res of results) assert.deepEqual(res.json, { errors: [] }, res.text);
    const expected = replicas.length * rounds * perCall;
    for (const r of replicas) {
      assert.equal((await r.request('GET', '/get?key=counter')).json.value, expected, `async get on ${r.options.name}`);
    }
    await eventually(async () => {
      for (const r of replicas) assert.equal((await r.request('GET', '/get?key=counter&mode=sync')).json.value, expected);
    }, SYNC_BOUND_MS);

    const viaChange = await Promise.all(replicas.flatMap((r) => Array.from({ length: 10 }, () => r.request('GET', '/change-incr'))));
    assert.ok(viaChange.every((res) => res.status === 200));
    assert.equal((await replicas[0].request('GET', '/get?key=viaChange')).json.value, replicas.length * 10, 'change node with {"$incr":1}');
  });

  test('a value written on one replica: async get on another sees it at once, sync get within the bound', async (t) => {
    for (const scope of ['global', 'flow']) {
      const value = { at: Date.now(), list: [1, 2, { deep: 'x' }], big: 12345678901234567, e: [] };
      const written = await replicas[0].request('POST', `/set?scope=${scope}`, { key: 'shared', value });
      assert.deepEqual(written.json, { ok: true });
      const readAsync = await replicas[1].request('GET', `/get?scope=${scope}&key=shared`);
      assert.deepEqual(readAsync.json.value, value, `${scope}: async get right after the acknowledged write`);
      const start = Date.now();
      await eventually(async () => {
        assert.deepEqual((await replicas[2].request('GET', `/get?scope=${scope}&key=shared&mode=sync`)).json.value, value);
      }, SYNC_BOUND_MS);
      const elapsed = Date.now() - start;
      assert.ok(elapsed <= SYNC_BOUND_MS, `${scope}: sync get saw the write after ${elapsed} ms`);
      t.diagnostic(`${scope}: sync get on another replica saw the write ${elapsed} ms after it was acknowledged (HTTP round trips included)`);
      const nested = await replicas[2].request('GET', `/get?scope=${scope}&key=${encodeURIComponent('shared.list[2].deep')}&mode=sync`);
      assert.equal(nested.json.value, 'x');
    }
  });

  test('nested keys set concurrently on 3 replicas: every update is kept', async () => {
    const n = 40;
    const results = await Promise.all(replicas.map((r, i) => r.request('GET', `/nested?prefix=r${i}_&n=${n}`)));
    for (const res of results) assert.deepEqual(res.json, { errors: [] }, res.text);
    const tally = (await replicas[0].request('GET', '/get?key=tally')).json.value;
    assert.equal(Object.keys(tally).length, replicas.length * n, JSON.stringify(tally));
    assert.equal(tally.r2_7, 7);
  });

  test('a circular value is refused with a clear error, sync (thrown) and async (callback)', async () => {
    const res = await replicas[0].request('GET', '/circular');
    for (const err of [res.json.thrown, res.json.callback]) {
      assert.equal(err.code, 'HA_CONTEXT_VALUE_INVALID');
      assert.match(err.message, /"loop".*circular reference/);
    }
    assert.equal((await replicas[1].request('GET', '/get?key=loop')).json.value, undefined, 'nothing stored');
  });

  test('Redis stopped and restarted: HTTP keeps serving, context calls fail clearly, then work with nothing acknowledged lost', async () => {
    const before = (await replicas[0].request('GET', '/get?key=counter')).json.value;
    assert.ok(before > 0);
    const leaderId = (await replicas[0].request('GET', '/ha/status')).json.leader;
    const leader = replicas.find((r) => r.options.name === leaderId);
    assert.ok(leader, `a leader before the outage: ${leaderId}`);
    const marks = replicas.map((r) => r.proc.lines.length);
    await redis.stop();
    // A leader that cannot renew steps down (lease 2000 ms) rather than keep acting alone.
    await leader.proc.waitForLine(/no longer the leader/, 2000 + 1000, marks[replicas.indexOf(leader)]);

    for (const r of replicas) {
      const ping = await r.request('GET', '/ping');
      assert.equal(ping.status, 200, 'HTTP flows keep serving while Redis is down');
    }
    await eventually(async () => {
      for (const mode of ['sync', 'async']) {
        const read = await replicas[1].request('GET', `/get?key=counter&mode=${mode}`);
        assert.equal(read.status, 503, `${mode} get while Redis is down: ${read.text}`);
        assert.equal(read.json.code, 'HA_CONTEXT_UNAVAILABLE');
        assert.match(read.json.error, /unavailable/);
      }
    }, SYNC_BOUND_MS + 1000);
    for (const mode of ['sync', 'async']) {
      const write = await replicas[2].request('POST', '/set', { key: 'during', value: 1, mode });
      assert.equal(write.status, 503, `${mode} set while Redis is down: ${write.text}`);
      assert.equal(write.json.code, 'HA_CONTEXT_UNAVAILABLE');
    }

    for (const r of replicas) assert.equal((await r.request('GET', '/ha/status')).json.replicas.filter((row: { leader: boolean }) => row.leader).length, 0);

    const restartMarks = replicas.map((r) => r.proc.lines.length);
    await redis.restart();
    await eventually(async () => {
      for (const r of replicas) {
        assert.equal((await r.request('GET', '/get?key=counter')).json.value, before, 'acknowledged increments survive');
        assert.equal((await r.request('GET', '/get?key=counter&mode=sync')).json.value, before);
      }
    }, 15_000);
    const incr = await replicas[0].request('GET', '/incr?n=10');
    assert.deepEqual(incr.json, { errors: [] });
    assert.equal((await replicas[2].request('GET', '/get?key=counter')).json.value, before + 10);
    assert.equal((await replicas[2].request('GET', '/get?key=during')).json.value, undefined, 'refused writes were not stored');

    await Promise.any(replicas.map((r, i) => r.proc.waitForLine(/this replica is now the leader/, 15_000, restartMarks[i])));
    await eventually(async () => {
      const statuses = await Promise.all(replicas.map((r) => r.request('GET', '/ha/status')));
      const leaders = new Set(statuses.map((s) => s.json.leader));
      assert.equal(leaders.size, 1, JSON.stringify(statuses.map((s) => s.json)));
      assert.notEqual([...leaders][0], null, 'a leader is elected again');
    }, 15_000);
  });
});

describe("the store module against a real Redis: clean during a rollout, write order, a stalled Redis", () => {
  let redis: RedisServer;
  const stores: RedisContextStore[] = [];
  const open = async (replica: string, tuning: { staleMs?: number; commandTimeoutMs?: number } = {}) => {
    const store = haContextStore({ redisUrl: redis.url, instance: 'rollout', replica, ...tuning });
    await store.open();
    stores.push(store);
    return store;
  };
  const read = (store: RedisContextStore, scope: string, key: string) =>
    new Promise((resolve, reject) => store.get(scope, key, (err, value) => (err ? reject(err) : resolve(value))));
  const write = (store: RedisContextStore, scope: string, key: string, value: unknown) =>
    new Promise<void>((resolve, reject) => store.set(scope, key, value, (err) => (err ? reject(err) : resolve())));

  before(async () => { redis = await RedisServer.start(); });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await redis?.close();
  });

  test('context of a node only the old flows have survives until no live replica runs it', async () => {
    const a = await open('a');
    const b = await open('b');
    await write(a, 'old:tab', 'n', 1);
    await write(a, 'tab', 'f', 2);
    await write(a, 'global', 'g', 3);

    // a deploys the new flows (node "old" removed) while b has not reported its flows yet.
    await a.clean(['new', 'tab']);
    assert.equal(await read(b, 'old:tab', 'n'), 1, 'kept while b is unknown');
    // b still runs the old flows.
    await b.clean(['old', 'tab']);
    assert.equal(await read(a, 'old:tab', 'n'), 1, 'kept while b runs the node');
    // b gets the new flows: nobody runs "old" any more.
    await b.clean(['new', 'tab']);
    assert.equal(await read(a, 'old:tab', 'n'), undefined);
    assert.equal(await read(a, 'tab', 'f'), 2, 'flow context of a flow still deployed');
    assert.equal(await read(a, 'global', 'g'), 3, 'global context is never cleaned');
    await eventually(async () => assert.deepEqual(a.keys('old:tab'), []), SYNC_BOUND_MS);
  });

  test("one replica's writes to a key keep their order, nested or not, and its own sync get sees them at once", async () => {
    const [a, b] = stores;
    a.set('global', 'o.x', 1);
    a.set('global', 'o', { fresh: true });
    a.set('global', 'o.list[1]', 'b');
    a.set('global', 'o.n', { $incr: 2 });
    assert.deepEqual(a.get('global', 'o'), { fresh: true, list: [null, 'b'], n: 2 }, 'sync get right after sync sets');
    await eventually(async () => {
      assert.deepEqual(await read(b, 'global', 'o'), { fresh: true, list: [null, 'b'], n: 2 });
      assert.deepEqual(b.get('global', 'o'), { fresh: true, list: [null, 'b'], n: 2 });
    }, SYNC_BOUND_MS);
  });

  test('a replica that stopped no longer holds context back', async () => {
    const c = await open('c');
    await write(c, 'gone:tab', 'n', 1);
    await c.clean(['gone', 'new', 'tab']);
    await stores.find((s) => s === c)!.close();
    await stores[0].clean(['new', 'tab']);
    await stores[1].clean(['new', 'tab']);
    assert.equal(await read(stores[0], 'gone:tab', 'n'), undefined);
  });

  test('a Redis that stops answering: async calls fail within the command timeout, sync get once freshness is unproven', async () => {
    const store = await open('stalled', { staleMs: 1000, commandTimeoutMs: 1000 });
    await write(store, 'global', 'k', 1);
    redis.proc!.child.kill('SIGSTOP');
    try {
      const start = Date.now();
      await assert.rejects(read(store, 'global', 'k'), { code: 'HA_CONTEXT_UNAVAILABLE' });
      assert.ok(Date.now() - start < 3000, `failed after ${Date.now() - start} ms`);
      await eventually(async () => {
        assert.throws(() => store.get('global', 'k'), { code: 'HA_CONTEXT_UNAVAILABLE', message: /no confirmation from Redis/ });
      }, 3000);
    } finally {
      redis.proc!.child.kill('SIGCONT');
    }
    await eventually(async () => {
      assert.equal(await read(store, 'global', 'k'), 1);
      assert.equal(store.get('global', 'k'), 1);
    }, 5000);
  });
});

