import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQueueOptions } from '../../lib/link/settings';
import { DEFAULT_OUTBOUND } from '../../lib/link/outbound';
import { ConfigError } from '../../lib/errors';
import { statusFor } from '../../lib/link/status';

describe('link settings', () => {
  test('defaults, settings.haLink, and env over settings', () => {
    assert.deepEqual(parseQueueOptions({}, undefined), DEFAULT_OUTBOUND);
    const fromSettings = parseQueueOptions({}, { queueMessages: 50, queueBytes: '4096', queueTimeoutMs: 500 });
    assert.equal(fromSettings.maxMessages, 50);
    assert.equal(fromSettings.maxBytes, 4096);
    assert.equal(fromSettings.deadlineMs, 500);
    assert.equal(parseQueueOptions({ NR_HA_LINK_QUEUE_MESSAGES: '7' }, { queueMessages: 50 }).maxMessages, 7);
  });

  test('bad values name the variable or key', () => {
    assert.throws(() => parseQueueOptions({ NR_HA_LINK_QUEUE_MESSAGES: 'lots' }, undefined),
      (err: Error) => err instanceof ConfigError && err.variable === 'NR_HA_LINK_QUEUE_MESSAGES' && /got "lots"/.test(err.message));
    assert.throws(() => parseQueueOptions({}, { queueTimeoutMs: 5 }), /settings.haLink.queueTimeoutMs must be a whole number from 100/);
    assert.throws(() => parseQueueOptions({}, { queueSize: 5 }), /settings.haLink.queueSize is not a link setting/);
    assert.throws(() => parseQueueOptions({}, 'big'), /settings.haLink must be an object/);
  });

  test('node status text for each connection state and the queue depth', () => {
    assert.deepEqual(statusFor('connected', '', 0), { fill: 'green', shape: 'dot', text: 'connected' });
    assert.equal(statusFor('connected', '', 12).text, 'connected (12 queued)');
    assert.equal(statusFor('reconnecting', '', 0).text, 'reconnecting');
    assert.equal(statusFor('disconnected', '', 3).text, 'disconnected (3 queued)');
    assert.equal(statusFor('error', 'Not authorized', 0).text, 'error: Not authorized');
    assert.equal(statusFor('connecting', '', 0).fill, 'yellow');
  });
});
