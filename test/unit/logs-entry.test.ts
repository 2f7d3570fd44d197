import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  atOrAbove, compareSeq, entryFromEvent, formatEntryLine, fromStreamFields, ENTRY_FIELD, MAX_MESSAGE_LENGTH, toStreamValue,
} from '../../lib/logs/entry';
import { logCollector } from '../../lib/logs/collector';
import { LocalLogRing } from '../../lib/logs/ring';

test('a Node-RED log event becomes an entry with the replica and the node', () => {
  assert.deepEqual(entryFromEvent({ level: 30, msg: 'slow', type: 'function', name: 'calc', id: 'n1', timestamp: 1000 }, 'r-2', 'info'),
    { time: 1000, level: 'warn', replica: 'r-2', msg: 'slow', type: 'function', name: 'calc', id: 'n1' });
  assert.deepEqual(entryFromEvent({ level: 20, msg: new Error('boom'), timestamp: 5 }, 'r-1', 'info'),
    { time: 5, level: 'error', replica: 'r-1', msg: 'boom' });
});

test('metric, audit and less severe events are not entries', () => {
  assert.equal(entryFromEvent({ level: 99, event: 'node.function.receive', msgid: 'x' }, 'r', 'trace'), undefined);
  assert.equal(entryFromEvent({ level: 98, event: 'auth.login' }, 'r', 'trace'), undefined);
  assert.equal(entryFromEvent({ level: 50, msg: 'detail' }, 'r', 'info'), undefined);
  assert.ok(entryFromEvent({ level: 50, msg: 'detail' }, 'r', 'debug'));
});

test('a huge message is cut, saying how much was cut', () => {
  const entry = entryFromEvent({ level: 40, msg: 'x'.repeat(MAX_MESSAGE_LENGTH + 10) }, 'r', 'info')!;
  assert.equal(entry.msg, `${'x'.repeat(MAX_MESSAGE_LENGTH)}… (10 more characters)`);
});

test('levels: at or above means as severe or more', () => {
  assert.ok(atOrAbove('error', 'warn'));
  assert.ok(atOrAbove('warn', 'warn'));
  assert.ok(!atOrAbove('info', 'warn'));
  assert.ok(atOrAbove('fatal', 'trace'));
});

test('stream fields round-trip; unreadable rows are skipped', () => {
  const entry = { time: 1732900000123, level: 'warn' as const, replica: 'r-1', type: 'function', name: 'calc', id: 'n1', msg: 'a <b> "c"' };
  assert.deepEqual(fromStreamFields('1-0', [ENTRY_FIELD, toStreamValue(entry)]), { seq: '1-0', ...entry });
  const short = { time: 1, level: 'info' as const, replica: 'r', msg: 'm' };
  assert.deepEqual(fromStreamFields('1-1', [ENTRY_FIELD, toStreamValue(short)]), { seq: '1-1', ...short });
  for (const bad of [['e', '{not json'], ['e', '{"time":"soon","level":"info","replica":"r"}'], ['e', '{"time":1,"level":"loud","replica":"r"}'], ['x', '{}'], ['e', 'null']]) {
    assert.equal(fromStreamFields('2-0', bad), undefined, bad[1]);
  }
});

test('a stream value holds no raw newline, so the shipper can join a batch with them', () => {
  const entry = { time: 1, level: 'error' as const, replica: 'r\n1', msg: 'line one\nline two\r\n' };
  const value = toStreamValue(entry);
  assert.ok(!value.includes('\n'));
  assert.deepEqual(fromStreamFields('1-0', [ENTRY_FIELD, value]), { seq: '1-0', ...entry });
});

test('stream ids order by time, then sequence (not as strings)', () => {
  assert.ok(compareSeq('999-0', '1000-0') < 0);
  assert.ok(compareSeq('1000-2', '1000-10') < 0);
  assert.equal(compareSeq('5-5', '5-5'), 0);
});

test('terminal line shows time, level, replica and node', () => {
  assert.equal(formatEntryLine({ time: Date.UTC(2026, 10, 29, 18, 2, 11, 123), level: 'warn', replica: 'orders-1', type: 'function', id: 'fn1', msg: 'late' }),
    '2026-11-29T18:02:11.123Z [warn] [orders-1] [function:fn1] late');
  assert.equal(formatEntryLine({ time: 0, level: 'info', replica: 'r', msg: 'up' }), '1970-01-01T00:00:00.000Z [info] [r] up');
});

test('the log handler keeps entries, and never throws into the logger', () => {
  const ring = new LocalLogRing(10);
  const handler = logCollector({ replica: 'r-1', threshold: 'info', ring });
  handler.emit('log', { level: 40, msg: 'hello', timestamp: 10 });
  handler.emit('log', { level: 99, event: 'node.x.receive' });
  const hostile = { level: 40, timestamp: 11, get msg(): string { throw new Error('a getter that throws'); } };
  assert.doesNotThrow(() => handler.emit('log', hostile));
  assert.doesNotThrow(() => handler.emit('log', { level: 40, msg: 'after', timestamp: 12 }));
  return ring.forward(undefined, 10).then((chunk) => {
    assert.deepEqual(chunk.entries.map((e) => e.msg), ['hello', 'after']);
  });
});
