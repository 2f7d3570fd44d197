// Runs the built command (`npm run build` first) the way a user or a pipeline does.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../harness/package';
import { checkFlows } from '../../lib/check';

const CLI = path.join(REPO_ROOT, 'dist', 'bin', 'node-red-ha.js');
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'check');

function run(args: string[], env: Record<string, string> = {}) {
  // The caller's NR_HA_SINGLETON_TYPES must not change what these tests expect.
  const { NR_HA_SINGLETON_TYPES: _ignored, ...inherited } = process.env;
  const result = spawnSync(process.execPath, [CLI, 'check', ...args], {
    cwd: REPO_ROOT, encoding: 'utf8', env: { ...inherited, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Text output as [header, [node ids under it]] in order. */
function groups(stdout: string): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  for (const line of stdout.split('\n')) {
    if (/^(Tab|Subflow): |^Global configuration nodes$/.test(line)) out.push([line, []]);
    const id = /^ {2}(?:ERROR|WARNING|INFO)\s+\S+\s+.*\[(.+)\]$/.exec(line)?.[1];
    if (id) out[out.length - 1][1].push(id);
  }
  return out;
}

let dir: string;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-check-')); });
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, content: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
};

describe('node-red-ha check (text)', () => {
  test('exit 1 with errors: findings grouped by tab, subflows and global config last, summary line at the end', () => {
    const { code, stdout, stderr } = run([path.join(FIXTURES, 'structure.json')]);
    assert.equal(code, 1, stderr);
    assert.deepEqual(groups(stdout), [
      ['Tab: Main (tab-a)', ['rbe-a']],
      ['Tab: Main (tab-b)', ['broker-tab-scoped', 'rbe-b']],
      ['Subflow: Debounce', ['rbe-in-subflow']],
      ['Subflow: Inner', ['trigger-nested']],
      ['Global configuration nodes', ['broker-global']],
    ]);
    assert.match(stdout, /^ {2}WARNING stateful-node {2}rbe "first" \[rbe-a\]\n {10}Remembers the last value/m);
    assert.match(stdout, /\n {10}fix: Leave the client id empty/);
    assert.equal(stdout.trimEnd().split('\n').at(-1), '23 nodes checked: 2 errors, 4 warnings, 0 info');
  });

  test('exit 0 when there are only warnings and notes', () => {
    const { code, stdout } = run([path.join(FIXTURES, 'project-link.json')]);
    assert.equal(code, 0);
    assert.deepEqual(groups(stdout), [['Tab: Links', ['pl-in', 'pl-out', 'pl-call']]]);
    assert.equal(stdout.trimEnd().split('\n').at(-1), '5 nodes checked: 0 errors, 0 warnings, 3 info');
  });

  test('exit 0 and says so for flows without findings', () => {
    const file = write('clean.json', JSON.stringify([{ id: 't', type: 'tab', label: 'T' }, { id: 'd', type: 'debug', z: 't', wires: [] }]));
    const { code, stdout } = run([file]);
    assert.equal(code, 0);
    assert.equal(stdout, 'No HA issues found.\n2 nodes checked: 0 errors, 0 warnings, 0 info\n');
  });

  test('singleton types come from NR_HA_SINGLETON_TYPES, overridden by --singleton-types', () => {
    const schedule = path.join(FIXTURES, 'schedule.json');
    const none = run([schedule], { NR_HA_SINGLETON_TYPES: 'none' });
    assert.equal(none.code, 1);
    assert.match(none.stdout, /ERROR {3}scheduled-every-replica {2}inject "poll orders" \[inj-repeat\]/);
    const gated = run([schedule, '--singleton-types', 'inject,cronplus'], { NR_HA_SINGLETON_TYPES: 'none' });
    assert.equal(gated.code, 0, gated.stdout);
    assert.match(gated.stdout, /INFO {4}scheduled-leader-only {2}cronplus "shifts" \[cron-plus\]/);
  });
});

describe('node-red-ha check --json', () => {
  test('stable shape: version, file, summary, every finding with every key in a fixed order', () => {
    const file = path.join(FIXTURES, 'mqtt.json');
    const { code, stdout } = run([file, '--json']);
    assert.equal(code, 1);
    const report = JSON.parse(stdout);
    assert.deepEqual(Object.keys(report), ['version', 'file', 'summary', 'findings']);
    assert.equal(report.version, 1);
    assert.equal(report.file, file);
    assert.deepEqual(report.summary, { nodes: 11, errors: 2, warnings: 2, infos: 0 });
    for (const f of report.findings) {
      assert.deepEqual(Object.keys(f), ['severity', 'rule', 'nodeId', 'type', 'name', 'tab', 'message', 'fix']);
    }
    const broker = report.findings.find((f: { nodeId: string }) => f.nodeId === 'broker-env');
    assert.equal(broker.name, null);
    assert.equal(broker.tab, null);
    // The same findings as the library gives the sync engineer's push refusal.
    const library = checkFlows(JSON.parse(fs.readFileSync(file, 'utf8')));
    assert.deepEqual(report.findings.map((f: { rule: string; nodeId: string; severity: string }) => [f.severity, f.rule, f.nodeId]),
      library.findings.map((f) => [f.severity, f.rule, f.nodeId]));
  });
});

describe('node-red-ha check: unreadable or invalid files exit 2 with the reason', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['a missing file', () => path.join(dir, 'missing.json'), /cannot read .*missing\.json: no such file/],
    ['a directory', () => dir, /cannot read .*: it is a directory/],
    ['a file that is not JSON', () => write('broken.json', '[{"id": "a", '), /broken\.json is not JSON: /],
    ['JSON that is not a flows export', () => write('object.json', '{"nodes": []}'), /object\.json: not a Node-RED flows export: expected an array of nodes or an object with a "flows" array, got an object/],
    ['a node without an id', () => write('noid.json', '[{"type": "inject"}]'), /noid\.json: node 0 has no "id"/],
    ['a node without a type', () => write('notype.json', '{"flows": [{"id": "n1"}]}'), /notype\.json: node 0 \(id "n1"\) has no "type"/],
  ];
  for (const [label, file, reason] of cases) {
    test(label, () => {
      const text = run([file()]);
      assert.equal(text.code, 2);
      assert.equal(text.stdout, '');
      assert.match(text.stderr, /^node-red-ha check: /);
      assert.match(text.stderr, reason);
      const json = run([file(), '--json']);
      assert.equal(json.code, 2);
      const { error } = JSON.parse(json.stdout);
      assert.equal(error.code, 'HA_FLOWS_INVALID');
      assert.match(error.message, reason);
    });
  }
});
