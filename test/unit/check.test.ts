import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkFlows, type CheckOptions, type Finding } from '../../lib/check';
import { FlowsFileError, HAError } from '../../lib/errors';
import { generateFlows } from '../fixtures/check/generate';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'check');
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
/** What a user reads first on each line: severity, rule, node id (in report order). */
const lines = (findings: Finding[]) => findings.map((f) => `${f.severity} ${f.rule} ${f.nodeId}`);
const check = (name: string, options?: CheckOptions) => checkFlows(fixture(name), options);
const finding = (findings: Finding[], nodeId: string) => {
  const found = findings.filter((f) => f.nodeId === nodeId);
  assert.equal(found.length, 1, `one finding for ${nodeId}, got ${found.length}`);
  return found[0];
};

describe('check: schedules', () => {
  test('with the default singleton types injects run on the leader; contrib schedulers on every replica', () => {
    const { findings } = check('schedule.json');
    assert.deepEqual(lines(findings), [
      'error scheduled-every-replica cron-plus',
      'warning once-leader-only inj-once',
      'info scheduled-leader-only inj-repeat',
      'info scheduled-leader-only inj-cron',
      'info scheduled-leader-only inj-gated',
      'info scheduled-leader-only inj-followers',
    ]);
    const repeat = finding(findings, 'inj-repeat');
    assert.equal(repeat.name, 'poll orders');
    assert.equal(repeat.tab, 'Schedules');
    assert.equal(repeat.type, 'inject');
    assert.match(repeat.message, /every 5 s/);
    assert.match(finding(findings, 'inj-cron').message, /"00 02 \* \* \*"/);
    assert.match(finding(findings, 'cron-plus').fix, /Add "cronplus" to NR_HA_SINGLETON_TYPES/);
  });

  test('without singleton types repeating injects are errors, unless they feed only a leader ha gate', () => {
    const { findings } = check('schedule.json', { singletonTypes: [] });
    assert.deepEqual(lines(findings), [
      'error scheduled-every-replica inj-repeat',
      'error scheduled-every-replica inj-cron',
      'error scheduled-every-replica inj-followers',
      'error scheduled-every-replica cron-plus',
      'warning once-every-replica inj-once',
      'info scheduled-leader-only inj-gated',
    ]);
    assert.match(finding(findings, 'inj-gated').message, /wired only into "ha gate"/);
  });

  test('a contrib scheduler listed as a singleton type is gated too', () => {
    const { summary, findings } = check('schedule.json', { singletonTypes: ['inject', 'cronplus'] });
    assert.equal(summary.errors, 0);
    assert.equal(finding(findings, 'cron-plus').rule, 'scheduled-leader-only');
  });
});

describe('check: nodes keeping state between messages', () => {
  test('each stateful core and contrib node is a warning; a plain delay and an auto join are not', () => {
    const { findings } = check('stateful.json');
    assert.deepEqual(lines(findings), [
      'warning stateful-node rbe',
      'warning stateful-node join-custom',
      'warning stateful-node batch',
      'warning stateful-node delay-rate',
      'warning stateful-node delay-topic',
      'warning stateful-node trigger',
      'warning stateful-node smooth',
      'warning stateful-node aggregator',
      'warning stateful-node counter',
      'warning stateful-node throttle',
      'info sequence-in-replica join-auto',
    ]);
    assert.match(finding(findings, 'delay-rate').message, /at most 5 message\(s\) per 1 second/);
    assert.match(finding(findings, 'delay-rate').message, /N times that rate/);
    assert.match(finding(findings, 'trigger').message, /reset/);
  });
});

describe('check: context stores', () => {
  test('named non-ha stores warn, the default store is a note, the ha store and non-code mentions are silent', () => {
    const { findings } = check('context.json');
    assert.deepEqual(lines(findings), [
      'warning memory-context fn-memory',
      'warning memory-context fn-init-file',
      'warning memory-context chg-memory',
      'info default-context fn-default',
      'info default-context chg-default',
    ]);
    assert.match(finding(findings, 'fn-memory').message, /"memory"/);
    assert.match(finding(findings, 'fn-init-file').message, /"file"/);
    assert.match(finding(findings, 'fn-default').message, /flow\.get, flow\.set/);
    assert.match(finding(findings, 'chg-default').message, /global set/);
    assert.match(finding(findings, 'fn-memory').fix, /flow\.get\("key", "ha"\)/);
  });
});

describe('check: MQTT', () => {
  test('plain subscriptions and fixed client ids of brokers in use', () => {
    const { findings } = check('mqtt.json');
    assert.deepEqual(lines(findings), [
      'error mqtt-unshared in-plain',
      'warning mqtt-dynamic-subscription in-dynamic',
      'error mqtt-fixed-client-id broker-fixed',
      'warning mqtt-client-id-env broker-env',
    ]);
    const unshared = finding(findings, 'in-plain');
    assert.match(unshared.fix, /"\$share\/<group>\/orders\/#"/);
    const broker = finding(findings, 'broker-fixed');
    assert.equal(broker.tab, undefined, 'a global config node has no tab');
    assert.equal(broker.name, 'plant broker');
    assert.match(broker.message, /"nodered-plant"/);
    assert.match(finding(findings, 'broker-env').message, /HOSTNAME/);
  });
});

describe('check: listeners, clients and devices', () => {
  test('servers need sticky sessions, clients and multicast duplicate input, serial has one owner, dashboards', () => {
    const { findings } = check('listeners.json');
    assert.deepEqual(lines(findings), [
      'error duplicate-input udp-multicast',
      'error single-owner-device serial-in',
      'warning sticky-listener ws-in-server',
      'warning sticky-listener ws-out-server',
      'warning duplicate-input ws-in-client',
      'warning sticky-listener tcp-server',
      'warning duplicate-input tcp-client',
      'warning sticky-listener tcp-out-server',
      'warning sticky-listener udp-unicast',
      'warning dashboard ui-chart',
      'warning dashboard d2-gauge',
    ]);
    assert.match(finding(findings, 'ws-in-server').message, /\/ws\/live/);
    assert.match(finding(findings, 'serial-in').message, /\/dev\/ttyUSB0/);
    assert.match(finding(findings, 'tcp-server').message, /port 7000/);
    assert.match(finding(findings, 'udp-multicast').message, /239\.0\.0\.1/);
  });
});

describe('check: local files', () => {
  test('writes are errors, reads and watches warnings', () => {
    const { findings } = check('files.json');
    assert.deepEqual(lines(findings), [
      'error local-file-write file-write',
      'error local-file-write file-write-msg',
      'warning local-file-read file-read',
      'warning local-file-read watch',
    ]);
    assert.match(finding(findings, 'file-write').message, /"\/data\/audit\.log"/);
    assert.match(finding(findings, 'file-write-msg').message, /msg\.filename/);
  });
});

describe('check: project link nodes', () => {
  test('are reported as fine', () => {
    const report = check('project-link.json');
    assert.deepEqual(lines(report.findings), ['info project-link pl-in', 'info project-link pl-out', 'info project-link pl-call']);
    for (const f of report.findings) assert.match(f.message, /^Fine in HA/);
    assert.deepEqual(report.summary, { nodes: 5, errors: 0, warnings: 0, infos: 3 });
  });
});

describe('check: tabs, subflows, disabled nodes', () => {
  test('skips disabled nodes, disabled tabs and subflows nothing runs; names subflows; tells same-named tabs apart', () => {
    const report = check('structure.json');
    assert.deepEqual(report.findings.map((f) => `${f.tab} | ${f.severity} ${f.rule} ${f.nodeId}`), [
      'Main (tab-a) | warning stateful-node rbe-a',
      'Main (tab-b) | error mqtt-fixed-client-id broker-tab-scoped',
      'Main (tab-b) | warning stateful-node rbe-b',
      'subflow: Debounce | warning stateful-node rbe-in-subflow',
      'subflow: Inner | warning stateful-node trigger-nested',
      'undefined | error mqtt-fixed-client-id broker-global',
    ]);
    assert.deepEqual(report.summary, { nodes: 23, errors: 2, warnings: 4, infos: 0 });
  });
});

describe('check: input shapes', () => {
  const nodes = [{ id: 't', type: 'tab', label: 'T' }, { id: 'r', type: 'rbe', z: 't', wires: [[]] }];
  test('a plain array, {flows}, {flows, credentials} and an empty file give the same kind of report', () => {
    assert.deepEqual(lines(checkFlows(nodes).findings), ['warning stateful-node r']);
    assert.deepEqual(checkFlows({ flows: nodes }), checkFlows(nodes));
    assert.deepEqual(checkFlows({ flows: nodes, credentials: { $: 'x' }, rev: 'abc' }), checkFlows(nodes));
    assert.deepEqual(checkFlows([]), { findings: [], summary: { nodes: 0, errors: 0, warnings: 0, infos: 0 } });
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['null', null, /expected an array of nodes or an object with a "flows" array, got null/],
    ['a string', 'flows', /got a string/],
    ['an object without flows', { nodes: [] }, /got an object/],
    ['flows that is not an array', { flows: { a: 1 } }, /"flows" must be an array of nodes, got an object/],
    ['a number as a node', [{ id: 'a', type: 'tab' }, 7], /node 1 is not an object \(got a number\)/],
    ['a node without id', [{ type: 'inject' }], /node 0 has no "id"/],
    ['a node without type', [{ id: 'x1' }], /node 0 \(id "x1"\) has no "type"/],
    ['a duplicate id', [{ id: 'a', type: 'tab' }, { id: 'b', type: 'debug' }, { id: 'a', type: 'inject' }], /nodes 0 and 2 have the same id "a"/],
  ];
  for (const [label, value, message] of bad) {
    test(`rejects ${label} with FlowsFileError`, () => {
      assert.throws(() => checkFlows(value), (err: unknown) => {
        assert.ok(err instanceof FlowsFileError);
        assert.ok(err instanceof HAError);
        assert.equal(err.code, 'HA_FLOWS_INVALID');
        assert.equal(err.name, 'FlowsFileError');
        assert.match(err.message, message);
        return true;
      });
    });
  }
});

describe('check: a large generated flows file', () => {
  test('thousands of nodes: the counts match what the generator put in', () => {
    const { flows, expected } = generateFlows(6000);
    assert.ok(flows.length >= 6000);
    const report = checkFlows(flows);
    assert.deepEqual(report.summary, { nodes: flows.length, errors: expected.errors, warnings: expected.warnings, infos: expected.infos });
    const byRule: Record<string, number> = {};
    for (const f of report.findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
    assert.deepEqual(byRule, expected.byRule);
    // Disabled tabs (every tenth) report nothing; the subflow is reported once, under its name.
    assert.equal(report.findings.filter((f) => f.tab === 'Line 9').length, 0);
    assert.equal(report.findings.filter((f) => f.tab === 'Line 8').length, 7);
    assert.deepEqual(report.findings.filter((f) => f.tab === 'subflow: Enrich').map((f) => f.nodeId), ['sf-trigger']);
  });
});
