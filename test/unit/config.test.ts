import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../lib/config';
import { ConfigError } from '../../lib/errors';

const parse = (env: Record<string, string>, block?: unknown) => parseConfig({ env, block, hostname: 'pod-7' });

describe('parseConfig', () => {
  test('HA off by default with documented defaults', () => {
    assert.deepEqual(parse({}), {
      enabled: false, instance: undefined, replica: 'pod-7', redisUrl: undefined,
      mqttUrl: 'mqtt://localhost:1883', mqttUsername: undefined, mqttPassword: undefined, team: 'default',
      syncToken: undefined, logFormat: 'text', singletonTypes: ['inject'], leaseMs: 5000,
    });
  });

  test('environment wins over the settings ha block', () => {
    const config = parse({ NR_HA_ENABLED: '1', NR_HA_INSTANCE: 'env-inst' }, { instance: 'settings-inst', team: 'blue', leaseMs: 8000 });
    assert.equal(config.enabled, true);
    assert.equal(config.instance, 'env-inst');
    assert.equal(config.team, 'blue');
    assert.equal(config.leaseMs, 8000);
  });

  test('an empty variable counts as unset', () => {
    assert.equal(parse({ NR_HA_TEAM: '' }, { team: 'blue' }).team, 'blue');
  });

  test('singleton types: comma list, array, none', () => {
    assert.deepEqual(parse({ NR_HA_SINGLETON_TYPES: 'inject, cronplus ,' }).singletonTypes, ['inject', 'cronplus']);
    assert.deepEqual(parse({}, { singletonTypes: ['a', 'b'] }).singletonTypes, ['a', 'b']);
    assert.deepEqual(parse({ NR_HA_SINGLETON_TYPES: 'none' }).singletonTypes, []);
  });

  const bad: Array<[string, Record<string, string>, unknown, string, RegExp]> = [
    ['HA on without instance', { NR_HA_ENABLED: 'true' }, undefined, 'NR_HA_INSTANCE', /required when HA mode is on/],
    ['instance with a slash', { NR_HA_INSTANCE: 'a/b' }, undefined, 'NR_HA_INSTANCE', /got "a\/b"/],
    ['team too long', { NR_HA_TEAM: 't'.repeat(65) }, undefined, 'NR_HA_TEAM', /1-64 characters/],
    ['replica with a space', { NR_HA_REPLICA: 'pod 1' }, undefined, 'NR_HA_REPLICA', /got "pod 1"/],
    ['redis URL without scheme', { NR_HA_REDIS_URL: 'localhost:6379' }, undefined, 'NR_HA_REDIS_URL', /redis:\/\/host/],
    ['mqtt URL with http scheme', { NR_HA_MQTT_URL: 'http://broker' }, undefined, 'NR_HA_MQTT_URL', /mqtt:\/\/host/],
    ['lease not a number', { NR_HA_LEASE_MS: '5s' }, undefined, 'NR_HA_LEASE_MS', /got "5s"/],
    ['lease too short', { NR_HA_LEASE_MS: '10' }, undefined, 'NR_HA_LEASE_MS', /from 1000 to 600000/],
    ['log format', { NR_HA_LOG_FORMAT: 'xml' }, undefined, 'NR_HA_LOG_FORMAT', /one of text, json, got "xml"/],
    ['enabled flag', { NR_HA_ENABLED: 'sure' }, undefined, 'NR_HA_ENABLED', /got "sure"/],
    ['unknown settings key', {}, { instanse: 'x' }, 'settings.ha.instanse', /not an HA setting/],
    ['settings block not an object', {}, 'on', 'settings.ha', /must be an object/],
    ['settings lease as text', {}, { leaseMs: 'long' }, 'settings.ha.leaseMs', /settings.ha.leaseMs must be/],
  ];
  for (const [label, env, block, variable, message] of bad) {
    test(`rejects ${label}, naming ${variable}`, () => {
      assert.throws(() => parse(env, block), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, 'HA_CONFIG_INVALID');
        assert.equal(err.variable, variable);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('secrets never appear in errors', () => {
    assert.throws(() => parse({ NR_HA_REDIS_URL: 'redis://user:hunter2@' }), (err: Error) => !err.message.includes('hunter2'));
    assert.throws(() => parse({}, { syncToken: 12345678 }), (err: Error) => !err.message.includes('12345678'));
  });
});
