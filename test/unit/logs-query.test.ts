import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LevelName, LogEntry } from '../../lib/logs/entry';
import { LogQueryError, matches, parseLogQuery, parseSince, queryLogs } from '../../lib/logs/query';
import { LocalLogRing } from '../../lib/logs/ring';

const NOW = Date.UTC(2026, 10, 29, 18, 0, 0);

test('since: durations back from now, epoch milliseconds, ISO times', () => {
  assert.equal(parseSince('10m', NOW), NOW - 600_000);
  assert.equal(parseSince('90s', NOW), NOW - 90_000);
  assert.equal(parseSince('1.5h', NOW), NOW - 5_400_000);
  assert.equal(parseSince('2d', NOW), NOW - 2 * 86_400_000);
  assert.equal(parseSince('1732900000000', NOW), 1732900000000);
  assert.equal(parseSince('2026-11-29T17:00:00Z', NOW), NOW - 3_600_000);
  for (const bad of ['yesterday', '10 minutes', '-5m', '']) {
    assert.throws(() => parseSince(bad, NOW), (err: LogQueryError) => err.code === 'HA_LOG_QUERY_INVALID' && err.param === 'since' && err.message.includes(`"${bad}"`));
  }
});

test('query parameters: defaults, each one validated with its name', () => {
  assert.deepEqual(parseLogQuery({}, NOW), { limit: 100 });
  assert.deepEqual(parseLogQuery({ replica: 'a, b', level: 'warn', since: '1m', q: 'boom', limit: '5', after: '17-3' }, NOW),
    { replicas: ['a', 'b'], level: 'warn', since: NOW - 60_000, q: 'boom', limit: 5, after: '17-3' });
  const refused = (params: Record<string, unknown>, param: string, message: RegExp) =>
    assert.throws(() => parseLogQuery(params, NOW), (err: LogQueryError) => err instanceof LogQueryError && err.param === param && message.test(err.message));
  refused({ level: 'verbose' }, 'level', /level must be one of fatal, error, warn, info, debug, trace, got "verbose"/);
  refused({ limit: '1001' }, 'limit', /from 1 to 1000, got "1001"/);
  refused({ limit: '2.5' }, 'limit', /whole number/);
  refused({ before: '12' }, 'before', /cursor/);
  refused({ after: '1-0', before: '2-0' }, 'after', /not both/);
  refused({ q: ['a', 'b'] }, 'q', /q must be given once/);
});

const entry = (seq: string, replica: string, level: LevelName, msg: string, extra: Partial<LogEntry> = {}): LogEntry =>
  ({ seq, time: Number(seq.split('-')[0]), replica, level, msg, ...extra });

test('filter: replica, level at or above, since, text in message or node (any case)', () => {
  const e = entry('100-0', 'r1', 'warn', 'Order 17 late', { type: 'function', name: 'Billing', id: 'fn9' });
  assert.ok(matches(e, {}));
  assert.ok(matches(e, { replicas: ['r2', 'r1'] }));
  assert.ok(!matches(e, { replicas: ['r2'] }));
  assert.ok(matches(e, { level: 'warn' }) && matches(e, { level: 'info' }) && !matches(e, { level: 'error' }));
  assert.ok(matches(e, { since: 100 }) && !matches(e, { since: 101 }));
  assert.ok(matches(e, { q: 'order 17' }) && matches(e, { q: 'billing' }) && matches(e, { q: 'FN9' }) && !matches(e, { q: 'order 18' }));
});

/** A ring holding n entries, alternately from r1 and r2, every third an error. */
function ring(n: number): LocalLogRing {
  const r = new LocalLogRing(10_000);
  for (let i = 0; i < n; i++) {
    r.push({ time: 1000 + i, replica: i % 2 ? 'r2' : 'r1', level: i % 3 ? 'info' : 'error', msg: `line ${i}` }, 1000 + Math.floor(i / 4));
  }
  return r;
}
const numbers = (entries: LogEntry[]) => entries.map((e) => Number(e.msg.split(' ')[1]));

test('newest page first, oldest first within it, then older pages down to the start', async () => {
  const source = ring(25);
  const first = await queryLogs(source, { limit: 10 });
  assert.deepEqual(numbers(first.entries), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  assert.equal(first.cursor, first.entries[9].seq);
  const second = await queryLogs(source, { limit: 10, before: first.older! });
  assert.deepEqual(numbers(second.entries), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  const third = await queryLogs(source, { limit: 10, before: second.older! });
  assert.deepEqual(numbers(third.entries), [0, 1, 2, 3, 4]);
  assert.equal(third.older, null);
});

test('after a cursor: only what came later, in order, resumable when the limit cuts it', async () => {
  const source = ring(10);
  const page = await queryLogs(source, { limit: 100 });
  source.push({ time: 5000, replica: 'r1', level: 'warn', msg: 'line 10' });
  source.push({ time: 5001, replica: 'r2', level: 'warn', msg: 'line 11' });
  source.push({ time: 5002, replica: 'r1', level: 'warn', msg: 'line 12' });
  const next = await queryLogs(source, { limit: 2, after: page.cursor! });
  assert.deepEqual(numbers(next.entries), [10, 11]);
  assert.equal(next.more, true);
  const rest = await queryLogs(source, { limit: 2, after: next.cursor! });
  assert.deepEqual(numbers(rest.entries), [12]);
  assert.equal(rest.more, false);
  const idle = await queryLogs(source, { limit: 2, after: rest.cursor! });
  assert.deepEqual(idle.entries, []);
  assert.equal(idle.cursor, rest.cursor, 'an idle poll keeps its place');
});

test('filters apply before the limit; the pages of a filtered query cover exactly the matches', async () => {
  const source = ring(300);
  const want = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 2 === 1 && i % 3 === 0);
  const pages: number[] = [];
  let page = await queryLogs(source, { limit: 7, replicas: ['r2'], level: 'error' }, { chunk: 16 });
  pages.unshift(...numbers(page.entries));
  while (page.older) {
    page = await queryLogs(source, { limit: 7, replicas: ['r2'], level: 'error', before: page.older }, { chunk: 16 });
    pages.unshift(...numbers(page.entries));
  }
  assert.deepEqual(pages, want);
});

test('a scan stops at its budget and says where to go on', async () => {
  const source = ring(1000);
  const page = await queryLogs(source, { limit: 10, q: 'line 3 ' }, { chunk: 100, budget: 300 });
  assert.deepEqual(page.entries, []);
  assert.ok(page.older, 'the caller can continue from where the scan stopped');
  const found = await queryLogs(source, { limit: 10, q: 'line 3', before: page.older! }, { chunk: 100, budget: 10_000 });
  assert.ok(numbers(found.entries).every((n) => String(n).startsWith('3') && n < 700));
});

test('since stops a backward scan at old positions instead of reading the whole log', async () => {
  // As in Redis, an entry is numbered when it is stored, which is not before it was logged.
  const source = new LocalLogRing(10_000);
  for (let i = 0; i < 400; i++) source.push({ time: 1000 + i, replica: 'r1', level: 'info', msg: `line ${i}` }, 1000 + i);
  let reads = 0;
  const counting = { forward: source.forward.bind(source), backward: (from: string | undefined, n: number) => { reads++; return source.backward(from, n); } };
  const page = await queryLogs(counting, { limit: 1000, since: 1090 }, { chunk: 10, clockSkewMs: 0 });
  assert.deepEqual(numbers(page.entries), Array.from({ length: 310 }, (_, i) => i + 90));
  assert.ok(reads <= 33, `read ${reads} chunks`);
});

test('the local ring keeps the newest entries, numbered in increasing order', async () => {
  const r = new LocalLogRing(100);
  for (let i = 0; i < 260; i++) r.push({ time: i, replica: 'r', level: 'info', msg: `line ${i}` }, 7);
  const all = await queryLogs(r, { limit: 1000 });
  assert.deepEqual(numbers(all.entries), Array.from({ length: 100 }, (_, i) => i + 160));
  assert.equal(all.entries[0].seq, '7-160');
  assert.equal(all.older, null);
});
