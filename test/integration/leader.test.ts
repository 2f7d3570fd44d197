import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { NodeRed } from '../harness/node-red';
import { freePort } from '../harness/ports';
import { RedisServer } from '../harness/redis';
import { eventually } from '../harness/poll';
import type Redis from 'ioredis';
import { connectRedis } from '../../lib/redis/connection';
import { LeaderElection } from '../../lib/leader/election';

const LEASE_MS = 2000;

interface Emission {
  replica: string;
  t: number;
}

/** Where every replica's inject reports its emissions (replica id and time). */
class Sink {
  readonly emissions: Emission[] = [];
  private constructor(private readonly server: http.Server, readonly port: number) {}

  static async start(): Promise<Sink> {
    const port = await freePort();
    let sink: Sink | undefined;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        sink?.emissions.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    sink = new Sink(server, port);
    return sink;
  }

  since(t: number): Emission[] {
    return this.emissions.filter((e) => e.t >= t);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function flows(sinkPort: number): object[] {
  return [
    { id: 'tab', type: 'tab', label: 'leader' },
    // A plain repeating inject: no HA-specific change in the flow.
    { id: 'tick', z: 'tab', type: 'inject', repeat: '0.1', once: false, props: [{ p: 'payload' }], payload: '', payloadType: 'date', wires: [['stamp']] },
    { id: 'stamp', z: 'tab', type: 'function', func: 'msg.payload = { replica: env.get("NR_HA_REPLICA"), t: Date.now() }; return msg;', outputs: 1, wires: [['report']] },
    { id: 'report', z: 'tab', type: 'http request', method: 'POST', ret: 'txt', paytoqs: 'ignore', url: `http://127.0.0.1:${sinkPort}/emit`, wires: [[]] },
    // GET /role answers through whichever gate lets the request pass on this replica.
    { id: 'role-in', z: 'tab', type: 'http in', url: '/role', method: 'get', wires: [['gate-leader', 'gate-followers']] },
    { id: 'gate-leader', z: 'tab', type: 'ha gate', mode: 'leader', wires: [['say-leader']] },
    { id: 'gate-followers', z: 'tab', type: 'ha gate', mode: 'followers', wires: [['say-follower']] },
    { id: 'say-leader', z: 'tab', type: 'function', func: 'msg.payload = "leader"; return msg;', outputs: 1, wires: [['role-out']] },
    { id: 'say-follower', z: 'tab', type: 'function', func: 'msg.payload = "follower"; return msg;', outputs: 1, wires: [['role-out']] },
    { id: 'role-out', z: 'tab', type: 'http response', wires: [] },
  ];
}

/** Every "now the leader (term N)" line of every replica: term -> replicas that claimed it. */
function termClaims(replicas: NodeRed[]): Map<number, string[]> {
  const claims = new Map<number, string[]>();
  for (const r of replicas) {
    for (const line of r.proc.lines) {
      const m = /this replica is now the leader \(term (\d+)\)/.exec(line);
      // A leader that stepped down locally may renew its own still-valid lease: same term, same replica.
      if (m) claims.set(Number(m[1]), [...new Set([...(claims.get(Number(m[1])) ?? []), r.options.name as string])]);
    }
  }
  return claims;
}

describe('leader election and singleton inject across 3 replicas', () => {
  let redis: RedisServer;
  let sink: Sink;
  const replicas: NodeRed[] = [];

  before(async () => {
    redis = await RedisServer.start();
    sink = await Sink.start();
    const env = (n: number) => ({
      NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'clock', NR_HA_REPLICA: `clock-${n}`, NR_HA_REDIS_URL: redis.url,
      NR_HA_LEASE_MS: String(LEASE_MS),
    });
    replicas.push(...await Promise.all([1, 2, 3].map((n) => NodeRed.start({ name: `clock-${n}`, env: env(n), flows: flows(sink.port) }))));
    await Promise.all(replicas.map((r) => r.proc.waitForLine(/Started flows/)));
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await sink?.close();
    await redis?.close();
  });

  let leaderId: string;

  test('/ha/status on any replica lists all 3 replicas and the one leader', async () => {
    await eventually(async () => {
      for (const r of replicas) {
        const status = (await r.request('GET', '/ha/status')).json;
        assert.deepEqual(status.replicas.map((row: { id: string }) => row.id), ['clock-1', 'clock-2', 'clock-3']);
        const leaders = status.replicas.filter((row: { leader: boolean }) => row.leader).map((row: { id: string }) => row.id);
        assert.equal(leaders.length, 1, JSON.stringify(status));
        assert.equal(status.leader, leaders[0]);
        assert.ok(status.replicas.every((row: { ready: boolean }) => row.ready));
        leaderId = status.leader;
      }
    }, 10_000);
  });

  test('a repeating inject (100 ms) emits from the leader only', async () => {
    const start = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    const window = sink.since(start).filter((e) => e.t <= start + 5000);
    assert.deepEqual([...new Set(window.map((e) => e.replica))], [leaderId], 'only the leader emits');
    // One emitter: about 50 in 5 s (three would give about 150); the lower bound allows for a loaded machine.
    assert.ok(window.length >= 20 && window.length <= 60, `${window.length} emissions in 5 s`);
  });

  test('/ha/metrics: the leader gauge, and inject sends dropped on the followers only', async () => {
    const sample = async () => Promise.all(replicas.map(async (r) => {
      const metrics = await r.request('GET', '/ha/metrics');
      assert.equal(metrics.status, 200, metrics.text);
      assert.match(metrics.text, new RegExp(`^nrha_leader_is_leader ${r.options.name === leaderId ? 1 : 0}$`, 'm'));
      return Number(/^nrha_singleton_dropped_total\{type="inject"\} (\d+)$/m.exec(metrics.text)?.[1] ?? 0);
    }));
    const first = await sample();
    await new Promise((r) => setTimeout(r, 1000));
    const second = await sample();
    replicas.forEach((r, i) => {
      const dropped = second[i] - first[i];
      if (r.options.name === leaderId) assert.equal(dropped, 0, 'the leader drops nothing');
      else assert.ok(dropped >= 5, `${r.options.name} dropped ${dropped} inject sends in 1 s`);
    });
  });

  test('ha gate passes on the leader only (mode leader) and on the followers only (mode followers)', async () => {
    for (const r of replicas) {
      const role = await r.request('GET', '/role');
      assert.equal(role.text, r.options.name === leaderId ? 'leader' : 'follower', r.options.name);
    }
  });

  test('kill -9 the leader: another replica takes over within lease + 1 s, one emitter at a time, one leader per term', async () => {
    const old = replicas.find((r) => r.options.name === leaderId)!;
    const killedAt = Date.now();
    await old.stop('SIGKILL');
    const survivors = replicas.filter((r) => r !== old);

    await eventually(async () => {
      assert.ok(sink.since(killedAt).some((e) => e.replica !== leaderId), 'a new emitter');
    }, LEASE_MS + 3000);
    const first = sink.since(killedAt).find((e) => e.replica !== leaderId)!;
    assert.ok(first.t - killedAt <= LEASE_MS + 1000, `the new leader emitted ${first.t - killedAt} ms after the kill`);

    await new Promise((r) => setTimeout(r, 3000));
    const after = sink.since(first.t);
    assert.deepEqual([...new Set(after.map((e) => e.replica))], [first.replica], 'one emitter after the takeover');
    assert.ok(after.length >= 12, `${after.length} emissions in 3 s`);
    const ordered = sink.emissions.slice().sort((a, b) => a.t - b.t);
    const switches = ordered.filter((e, i) => i > 0 && e.replica !== ordered[i - 1].replica).length;
    assert.equal(switches, 1, 'the emitter changed exactly once (at the takeover)');

    const claims = termClaims(replicas);
    for (const [term, claimants] of claims) assert.equal(claimants.length, 1, `term ${term} claimed by ${claimants.join(', ')}`);
    const terms = [...claims].sort((a, b) => a[0] - b[0]);
    assert.equal(terms.at(-1)![1][0], first.replica, 'the newest term belongs to the new leader');
    assert.ok(terms.length >= 2);

    for (const r of survivors) {
      const status = (await r.request('GET', '/ha/status')).json;
      assert.equal(status.leader, first.replica);
      assert.equal((await r.request('GET', '/role')).text, r.options.name === first.replica ? 'leader' : 'follower');
    }
    const follower = survivors.find((r) => r.options.name !== first.replica)!;
    assert.ok(follower.proc.lines.some((l) => l.includes(`HA leader: ${first.replica} is the leader (term ${terms.at(-1)![0]})`)),
      'followers log the change of leader');
  });
});


describe('lease safety (the election against a real Redis that freezes and loses its data)', () => {
  let redis: RedisServer;
  const elections: LeaderElection[] = [];
  const clients: Redis[] = [];
  const join = (replica: string) => {
    const client = connectRedis(redis.url, replica);
    client.on('error', () => undefined);
    clients.push(client);
    const election = new LeaderElection(client, { instance: 'safety', replica, leaseMs: LEASE_MS });
    elections.push(election);
    election.start();
    return election;
  };

  before(async () => { redis = await RedisServer.start(); });
  after(async () => {
    await Promise.all(elections.map((e) => e.stop()));
    clients.forEach((c) => c.disconnect());
    await redis?.close();
  });

  test('a leader cut off from Redis steps down before its lease can expire; never two leaders at once; terms only grow', async () => {
    const a = join('a');
    const b = join('b');
    await eventually(async () => assert.ok(a.isLeader() || b.isLeader()), 5000);
    const [leader] = [a, b].filter((e) => e.isLeader());
    const firstTerm = leader.current().term as number;

    // Overlaps of two leaders at all (while Redis keeps its data) and in the same term (always).
    let both = 0;
    let sameTerm = 0;
    let dataLost = false;
    const watch = setInterval(() => {
      if (!a.isLeader() || !b.isLeader()) return;
      if (!dataLost) both++;
      if (a.current().term === b.current().term) sameTerm++;
    }, 5);
    try {
      // A frozen Redis: connections stay open, nothing answers.
      const frozenAt = Date.now();
      redis.proc!.child.kill('SIGSTOP');
      await eventually(async () => assert.ok(!a.isLeader() && !b.isLeader()), LEASE_MS);
      const steppedDownAfter = Date.now() - frozenAt;
      assert.ok(steppedDownAfter < LEASE_MS, `stepped down ${steppedDownAfter} ms after Redis froze (lease ${LEASE_MS} ms)`);
      await new Promise((r) => setTimeout(r, LEASE_MS));
      redis.proc!.child.kill('SIGCONT');
      await eventually(async () => assert.ok(a.isLeader() || b.isLeader()), 10_000);
      const afterFreeze = [a, b].find((e) => e.isLeader())!.current().term as number;
      assert.ok(afterFreeze > firstTerm, `term ${afterFreeze} after the freeze, ${firstTerm} before`);

      // Redis loses every key (a restart without persistence): the old leader learns at its next
      // renewal, so a new one may overlap it briefly, but in a higher term (that is what the term is for).
      dataLost = true;
      await clients[0].flushall();
      await eventually(async () => {
        const now = [a, b].find((e) => e.isLeader())?.current().term;
        assert.ok(now !== undefined && now !== null && now > afterFreeze, `term ${now} after the data loss`);
      }, 10_000);
    } finally {
      clearInterval(watch);
      redis.proc!.child.kill('SIGCONT');
    }
    assert.equal(both, 0, 'both replicas counted themselves leader at the same moment');
    assert.equal(sameTerm, 0, 'two leaders in the same term');
  });
});
