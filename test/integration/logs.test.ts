import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type Redis from 'ioredis';
import type { NodeRed } from '../harness/node-red';
import { templateDir } from '../harness/package';
import { pollUntil } from '../harness/poll';
import { Proc } from '../harness/process';
import { RedisServer } from '../harness/redis';
import { compareSeq, LogEntry } from '../../lib/logs/entry';
import { LogShipper } from '../../lib/logs/shipper';
import { connectRedis, redisReady } from '../../lib/redis/connection';
import { startReplicas } from './logging-replicas';

/** The command as installed from the packed package (not the work tree's dist/, which a build may be replacing). */
const CLI = path.join(templateDir(), 'node_modules', 'node-red-ha', 'dist', 'bin', 'node-red-ha.js');
const run = promisify(execFile);

/** Runs the CLI; resolves with its output and exit code (non-zero exits do not throw). */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout: string; stderr: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

interface LogsAnswer {
  source: 'redis' | 'local';
  entries: LogEntry[];
  cursor: string | null;
  older: string | null;
  more: boolean;
  warning?: string;
}

async function logs(nr: NodeRed, params: Record<string, string>): Promise<LogsAnswer> {
  const res = await nr.request('GET', `/ha/logs?${new URLSearchParams(params)}`);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** Which level the flow logs request number n at, so each level filter has a known answer. */
const levelOf = (n: number) => (n % 5 === 0 ? 'error' : n % 3 === 0 ? 'info' : 'warn');

/** Every replica logs `perReplica` numbered lines tagged `tag`, all replicas at the same time. */
async function logConcurrently(replicas: NodeRed[], tag: string, perReplica: number): Promise<void> {
  await Promise.all(replicas.map(async (nr) => {
    for (let n = 1; n <= perReplica; n++) {
      const res = await nr.request('GET', `/log?${new URLSearchParams({ tag, n: String(n), level: levelOf(n) })}`);
      assert.equal(res.status, 200, res.text);
    }
  }));
}

describe('combined logs of 3 replicas through Redis', () => {
  let redis: RedisServer;
  let replicas: NodeRed[];
  let solo: NodeRed;
  const tag = `conc${Date.now()}`;
  let all: LogEntry[];

  before(async () => {
    redis = await RedisServer.start();
    [replicas, [solo]] = await Promise.all([startReplicas('shop', 3, redis.url), startReplicas('solo', 1)]);
    await logConcurrently(replicas, tag, 10);
    all = await pollUntil('30 shipped entries', async () => {
      const answer = await logs(replicas[0], { q: tag, limit: '1000' });
      return answer.entries.length >= 30 ? answer.entries : undefined;
    });
  });
  after(async () => {
    await Promise.all([...(replicas ?? []), solo].filter(Boolean).map((nr) => nr.close()));
    await redis?.close();
  });

  test('every entry once, tagged with its replica, in one order, the same from every replica', async () => {
    assert.equal(all.length, 30);
    const keys = all.map((e) => {
      const match = /n=(\d+) from (\S+)$/.exec(e.msg);
      assert.ok(match, e.msg);
      assert.equal(e.replica, match[2], 'the entry is tagged with the replica that logged it');
      assert.equal(e.type, 'function');
      assert.equal(e.name, 'logger');
      assert.equal(e.id, 'fn-log');
      assert.equal(e.level, levelOf(Number(match[1])));
      return `${e.replica}#${match[1]}`;
    });
    assert.equal(new Set(keys).size, 30, 'no entry twice');
    for (let i = 1; i < all.length; i++) assert.ok(compareSeq(all[i - 1].seq, all[i].seq) < 0, 'positions strictly increase');
    for (const nr of replicas) {
      const id = nr.options.env!.NR_HA_REPLICA;
      const own = all.filter((e) => e.replica === id);
      assert.deepEqual(own.map((e) => Number(/n=(\d+)/.exec(e.msg)![1])), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], `${id} in the order it logged`);
      for (let i = 1; i < own.length; i++) assert.ok(own[i].time >= own[i - 1].time);
    }
    for (const nr of replicas.slice(1)) {
      assert.deepEqual((await logs(nr, { q: tag, limit: '1000' })).entries, all, 'any replica serves the same combined log');
    }
  });

  test('each filter gives exactly the matching entries', async () => {
    const expect = async (params: Record<string, string>, keep: (e: LogEntry) => boolean) => {
      const answer = await logs(replicas[1], { q: tag, limit: '1000', ...params });
      assert.equal(answer.source, 'redis');
      const wanted = all.filter(keep);
      assert.ok(wanted.length > 0 && wanted.length < all.length, `filter ${JSON.stringify(params)} must select some, not all`);
      assert.deepEqual(answer.entries, wanted, JSON.stringify(params));
    };
    await expect({ replica: 'shop-2' }, (e) => e.replica === 'shop-2');
    await expect({ replica: 'shop-1,shop-3' }, (e) => e.replica !== 'shop-2');
    await expect({ level: 'error' }, (e) => e.level === 'error');
    await expect({ level: 'warn' }, (e) => e.level === 'error' || e.level === 'warn');
    const middle = [...all].sort((a, b) => a.time - b.time)[15].time;
    await expect({ since: String(middle) }, (e) => e.time >= middle);
    await expect({ since: new Date(middle).toISOString() }, (e) => e.time >= middle);
    await expect({ q: `${tag.toUpperCase()} N=7 ` }, (e) => / n=7 /.test(e.msg));
    await expect({ replica: 'shop-3', level: 'error' }, (e) => e.replica === 'shop-3' && e.level === 'error');
    assert.equal((await logs(replicas[0], { since: String(Date.now() + 60_000), q: tag })).entries.length, 0, 'nothing logged in the future');
    assert.equal((await logs(replicas[0], { since: '10m', q: tag, limit: '1000' })).entries.length, 30);
  });

  test('paging: newest page first, then older pages with the cursor, then newer entries after it', async () => {
    const first = await logs(replicas[2], { q: tag, limit: '7' });
    assert.deepEqual(first.entries, all.slice(-7));
    const pages = [first.entries];
    let older = first.older;
    while (older) {
      const page = await logs(replicas[2], { q: tag, limit: '7', before: older });
      pages.unshift(page.entries);
      older = page.older;
    }
    assert.deepEqual(pages.map((p) => p.length), [2, 7, 7, 7, 7]);
    assert.deepEqual(pages.flat(), all, 'the pages together are the whole log, once, in order');

    await logConcurrently(replicas, `${tag}next`, 2);
    const newer = await pollUntil('6 newer entries', async () => {
      const answer = await logs(replicas[0], { q: tag, after: first.cursor! });
      return answer.entries.length >= 6 ? answer : undefined;
    });
    assert.equal(newer.entries.length, 6);
    assert.ok(newer.entries.every((e) => e.msg.startsWith(`${tag}next `)), 'only entries after the cursor');
    const none = await logs(replicas[0], { q: tag, after: newer.cursor! });
    assert.deepEqual(none.entries, [], 'following from the last cursor gives nothing old again');
  });

  test('bad parameters are refused with the parameter named', async () => {
    for (const [query, param, message] of [
      ['level=loud', 'level', /level must be one of fatal, error, warn, info, debug, trace, got "loud"/],
      ['limit=0', 'limit', /limit must be a whole number from 1 to 1000/],
      ['since=yesterday', 'since', /since must be a duration/],
      ['after=abc', 'after', /after must be a cursor/],
    ] as const) {
      const res = await replicas[0].request('GET', `/ha/logs?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.json.code, 'HA_LOG_QUERY_INVALID');
      assert.equal(res.json.param, param);
      assert.match(res.json.message, message);
    }
  });

  test('node-red-ha logs: the same entries, each line showing its replica; --json; --follow', async () => {
    const text = await cli('logs', '--url', replicas[0].url, '--grep', tag, '--replica', 'shop-2', '--limit', '1000');
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split('\n').filter((l) => !l.includes(`${tag}next`));
    assert.deepEqual(lines.map((l) => /n=(\d+)/.exec(l)![1]), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[(warn|error|info)\] \[shop-2\] \[function:logger\] conc\d+ n=\d+ from shop-2$/);

    const json = await cli('logs', '--url', replicas[1].url, '--grep', tag, '--level', 'error', '--json', '--limit', '1000');
    assert.equal(json.code, 0, json.stderr);
    const parsed = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as LogEntry);
    assert.deepEqual(parsed, all.filter((e) => e.level === 'error'));

    const followTag = `${tag}follow`;
    const follow = new Proc('cli-follow', process.execPath, [CLI, 'logs', '--url', replicas[2].url, '--grep', followTag, '--follow', '--interval', '200']);
    try {
      await logConcurrently(replicas, followTag, 2);
      await pollUntil('6 followed lines', async () => (follow.lines.filter((l) => l.includes(followTag)).length >= 6 ? true : undefined));
      const followed = follow.lines.filter((l) => l.includes(followTag));
      assert.equal(followed.length, 6, followed.join('\n'));
      for (const id of ['shop-1', 'shop-2', 'shop-3']) assert.equal(followed.filter((l) => l.includes(`[${id}]`)).length, 2);
    } finally {
      await follow.stop('SIGINT');
    }

    const bad = await cli('logs', '--url', replicas[0].url, '--level', 'loud');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /level must be one of .* got "loud"/);
    const unreachable = await cli('logs', '--url', 'http://127.0.0.1:9');
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  test('node-red-ha status prints the replica table: 3 replicas and the leader', async () => {
    // A replica's row can still be its first one, written before its flows started, on a busy machine.
    const status = await pollUntil('3 ready replicas and a leader', async () => {
      const body = (await replicas[0].request('GET', '/ha/status')).json;
      return body.replicas.length === 3 && body.replicas.every((r: { ready: boolean }) => r.ready) && body.leader ? body : undefined;
    });
    const out = await cli('status', '--url', replicas[0].url);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`^instance shop  leader ${status.leader ?? 'none'}  revision ${status.revision ?? '-'}`));
    assert.match(out.stdout, /REPLICA\s+READY\s+LEADER\s+REVISION\s+LAST SEEN/);
    for (const id of ['shop-1', 'shop-2', 'shop-3']) {
      assert.match(out.stdout, new RegExp(`^${id}\\s+yes\\s+${id === status.leader ? 'leader' : '-'}\\s`, 'm'));
    }
  });

  test('GET /ha/metrics: Prometheus text with replica, message and log shipping metrics', async () => {
    const res = await replicas[0].request('GET', '/ha/metrics');
    assert.equal(res.status, 200);
    const value = (name: string) => {
      const match = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(res.text);
      assert.ok(match, `${name} in\n${res.text}`);
      return Number(match[1]);
    };
    assert.ok(value('nrha_log_entries_shipped_total{replica="shop-1"}') >= 12);
    assert.equal(value('nrha_log_entries_dropped_total{replica="shop-1"}'), 0);
    assert.equal(value('nrha_log_buffer_entries{replica="shop-1"}'), 0);
    // Each /log request completes at least the function node and the http response node.
    assert.ok(value('nrha_messages_handled_total{replica="shop-1"}') >= 2 * 14);
    const status = (await replicas[0].request('GET', '/ha/status')).json;
    assert.equal(value('nrha_replicas{ready="true"}'), status.replicas.filter((r: { ready: boolean }) => r.ready).length);
    assert.equal(value('nrha_leader{replica="shop-1"}'), status.leader === 'shop-1' ? 1 : 0);
    assert.ok(Number.isInteger(value('nrha_rollout_duration_seconds_count')), 'the rollout histogram is exposed');
  });

  test('without Redis a replica serves its own recent entries, marked as local', async () => {
    const soloTag = `${tag}solo`;
    for (const n of [1, 2, 3]) await solo.request('GET', `/log?${new URLSearchParams({ tag: soloTag, n: String(n), level: levelOf(n) })}`);
    const answer = await pollUntil('3 local entries', async () => {
      const got = await logs(solo, { q: soloTag });
      return got.entries.length >= 3 ? got : undefined;
    });
    assert.equal(answer.source, 'local');
    assert.deepEqual(answer.entries.map((e) => [e.replica, e.level, e.msg]), [1, 2, 3].map((n) => ['solo-1', levelOf(n), `${soloTag} n=${n} from solo-1`]));
    assert.deepEqual((await logs(solo, { q: soloTag, level: 'warn' })).entries.map((e) => e.msg), [1, 2].map((n) => `${soloTag} n=${n} from solo-1`));
    const out = await cli('logs', '--url', solo.url, '--grep', soloTag);
    assert.equal(out.stdout.trim().split('\n').length, 3);
    assert.match(out.stderr, /no shared log/);
  });

  test('Redis down: flows keep running and logging to the console; shipping resumes after, drops counted', async () => {
    const downTag = `${tag}down`;
    const [first] = replicas;
    await redis.stop('SIGKILL');
    const res = await first.request('GET', `/log?${new URLSearchParams({ tag: downTag, n: '1' })}`);
    assert.equal(res.status, 200, 'the flow still answers');
    await first.proc.waitForLine(new RegExp(`\\[warn\\] \\[shop-1\\] \\[function:logger\\] ${downTag} n=1 from shop-1`), 5000);
    const local = await logs(first, { q: downTag });
    assert.equal(local.source, 'local');
    assert.match(local.warning ?? '', /Redis unavailable/);
    assert.deepEqual(local.entries.map((e) => e.msg), [`${downTag} n=1 from shop-1`]);

    // More than the 20,000-entry buffer while Redis is down: the oldest are dropped and counted.
    assert.equal((await first.request('GET', `/burst?tag=${downTag}&count=25000`)).status, 200);
    await first.proc.waitForLine(new RegExp(`${downTag} burst 24999`), 20_000);
    const metrics = (await first.request('GET', '/ha/metrics')).text;
    const dropped = Number(/^nrha_log_entries_dropped_total\{replica="shop-1"\} (\d+)$/m.exec(metrics)![1]);
    assert.ok(dropped >= 5000, `dropped ${dropped}`);
    assert.equal(Number(/^nrha_log_buffer_entries\{replica="shop-1"\} (\d+)$/m.exec(metrics)![1]), 20_000);

    await redis.restart();
    const shipped = await pollUntil('the buffered entries shipped', async () => {
      const answer = await logs(first, { q: `${downTag} burst 24999` });
      return answer.source === 'redis' && answer.entries.length === 1 ? answer : undefined;
    }, 20_000);
    assert.equal(shipped.entries[0].replica, 'shop-1');
    assert.deepEqual((await logs(first, { q: `${downTag} burst 0` })).entries, [], 'the oldest entries were the ones dropped');

    await logConcurrently(replicas, `${tag}after`, 1);
    await pollUntil('new entries of every replica shipped', async () => {
      const answer = await logs(replicas[1], { q: `${tag}after` });
      return answer.entries.length === 3 ? true : undefined;
    }, 20_000);
  });
});

describe('LogShipper against a real Redis that stalls or refuses', () => {
  let redis: RedisServer;
  let client: Redis;
  let admin: Redis;
  let shipper: LogShipper | undefined;
  before(async () => {
    redis = await RedisServer.start();
    client = connectRedis(redis.url, 'shipper-test');
    admin = connectRedis(redis.url, 'shipper-test-admin');
    await Promise.all([redisReady(client), redisReady(admin)]);
  });
  afterEach(async () => {
    await shipper?.close();
    shipper = undefined;
  });
  after(async () => {
    client?.disconnect();
    admin?.disconnect();
    await redis?.close();
  });

  /** Each test writes its own stream. */
  const stream = (name: string) => `logs:${name}`;
  const storedMessages = async (key: string) => (await admin.xrange(key, '-', '+')).map(([, fields]) => JSON.parse(fields[1]).msg as string);
  const entry = (msg: string) => ({ time: Date.now(), level: 'info' as const, replica: 'r1', msg });

  test('memory stays bounded, the oldest entries are dropped and counted, the newest arrive when Redis answers again', async () => {
    const key = stream('stall');
    let warnings = 0;
    shipper = new LogShipper(client, { streamKey: key, maxBuffer: 100, onDropping: () => warnings++ });
    for (let n = 0; n < 10; n++) shipper.enqueue(entry(`entry ${n}`));
    await pollUntil('10 entries stored', async () => (await admin.xlen(key) === 10 ? true : undefined), 5000);

    // Writes now hang until the pause ends; the entries logged meanwhile queue.
    await admin.client('PAUSE', 3000, 'WRITE');
    for (let n = 10; n < 510; n++) shipper.enqueue(entry(`entry ${n}`));
    assert.equal(shipper.buffered, 100, 'the buffer holds at most maxBuffer entries');
    assert.equal(shipper.dropped, 400);
    assert.equal(warnings, 1, 'one warning per outage');

    await admin.client('UNPAUSE');
    await pollUntil('the kept entries stored', async () => (await admin.xlen(key) === 110 ? true : undefined), 5000);
    const expected = [...Array.from({ length: 10 }, (_, n) => n), ...Array.from({ length: 100 }, (_, n) => 410 + n)].map((n) => `entry ${n}`);
    assert.deepEqual(await storedMessages(key), expected, 'the 10 sent before the stall and the newest 100, in order');
    assert.equal(shipper.shipped, 110);
  });

  test('the buffer is bounded in bytes too: large entries are dropped oldest first, the newest kept', async () => {
    const key = stream('bytes');
    await admin.client('PAUSE', 3000, 'WRITE');
    // 1,000 characters + 200 of overhead each: 12,000 bytes hold 10 entries.
    shipper = new LogShipper(client, { streamKey: key, maxBufferBytes: 12_000 });
    const msg = (n: number) => `entry ${n} `.padEnd(1000, 'x');
    for (let n = 0; n < 50; n++) shipper.enqueue(entry(msg(n)));
    assert.equal(shipper.buffered, 10);
    assert.equal(shipper.dropped, 40);

    await admin.client('UNPAUSE');
    await pollUntil('the kept entries stored', async () => (shipper!.shipped === 10 ? true : undefined), 5000);
    assert.deepEqual(await storedMessages(key), Array.from({ length: 10 }, (_, n) => msg(40 + n)));
  });

  test('a batch Redis refuses is sent again until it is stored: every entry once, in order', async () => {
    const key = stream('refused');
    // A key of the wrong type makes every XADD fail while the connection stays up.
    await admin.set(key, 'not a stream');
    // The retry comes after a second, so the check below sees the batch back in the queue.
    shipper = new LogShipper(client, { streamKey: key, retryMs: 1000 });
    for (let n = 0; n < 100; n++) shipper.enqueue(entry(`entry ${n}`));
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(shipper.shipped, 0);
    assert.equal(shipper.buffered, 100, 'the refused batch waits to be sent again');

    await admin.del(key);
    await pollUntil('all 100 stored', async () => (shipper!.shipped === 100 ? true : undefined), 5000);
    assert.deepEqual(await storedMessages(key), Array.from({ length: 100 }, (_, n) => `entry ${n}`), 'each entry once, in order');
    assert.equal(shipper.dropped, 0);
  });
});
