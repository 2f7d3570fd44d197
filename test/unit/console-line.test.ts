import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatJsonLine, formatTextLine } from '../../lib/logs/console-line';

const at = new Date(2026, 10, 29, 8, 5, 3);

test('text line: replica right after the level, node source kept', () => {
  assert.equal(formatTextLine({ level: 30, msg: 'slow', type: 'function', name: 'calc', id: 'n1' }, 'r-2', at),
    '29 Nov 08:05:03 - [warn] [r-2] [function:calc] slow');
  assert.equal(formatTextLine({ level: 40, msg: new Error('boom') }, 'r-2', at), '29 Nov 08:05:03 - [info] [r-2] boom');
});

test('json line: replica field and node fields', () => {
  const line = JSON.parse(formatJsonLine({ level: 20, msg: 'bad', type: 'http in', id: 'n2', timestamp: at.getTime() }, 'r-1'));
  assert.deepEqual(line, { time: at.toISOString(), level: 'error', replica: 'r-1', msg: 'bad', type: 'http in', id: 'n2' });
});
