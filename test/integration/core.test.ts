import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeRed } from '../harness/node-red';

/** An HTTP-in flow that answers with the replica that handled the request. */
const HTTP_FLOW = [
  { id: 'tab1', type: 'tab', label: 'API' },
  { id: 'in1', z: 'tab1', type: 'http in', url: '/whoami', method: 'get', wires: [['fn1']] },
  { id: 'fn1', z: 'tab1', type: 'function', func: 'msg.payload = { replica: env.get("NR_HA_REPLICA") }; node.warn("answered"); return msg;', outputs: 1, wires: [['out1']] },
  { id: 'out1', z: 'tab1', type: 'http response', wires: [] },
];

const HA_ENV = { NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'orders', NR_HA_REPLICA: 'orders-1' };

describe('HA mode on (settings wrapped with withHA)', () => {
  let nr: NodeRed;
  before(async () => {
    nr = await NodeRed.start({ name: 'ha-on', env: HA_ENV, flows: HTTP_FLOW });
    await nr.proc.waitForLine(/Started flows/);
  });
  after(() => nr?.close());

  test('the editor is not served', async () => {
    const res = await nr.request('GET', '/');
    assert.notEqual(res.status, 200, 'GET / must not serve the editor');
    assert.doesNotMatch(res.text, /<title>Node-RED<\/title>/);
  });

  for (const [method, path, body] of [
    ['POST', '/flows', []],
    ['POST', '/flow', { label: 'x', nodes: [] }],
    ['DELETE', '/flow/tab1', undefined],
    ['PUT', '/flow/tab1', { id: 'tab1', label: 'changed', nodes: [] }],
    ['POST', '/nodes', { module: 'node-red-contrib-anything' }],
    ['DELETE', '/nodes/node-red-ha', undefined],
  ] as const) {
    test(`${method} ${path} is refused with 403 ha_read_only`, async () => {
      const res = await nr.request(method, path, body);
      assert.equal(res.status, 403);
      assert.equal(res.json?.code, 'ha_read_only');
      assert.match(res.json?.message, /node-red-ha push/);
    });
  }

  test('the running flows are unchanged after the refused writes', async () => {
    const res = await nr.request('GET', '/flows');
    assert.equal(res.status, 200);
    const flows = Array.isArray(res.json) ? res.json : res.json.flows;
    assert.deepEqual(flows.map((n: { id: string }) => n.id).sort(), ['fn1', 'in1', 'out1', 'tab1']);
    const whoami = await nr.request('GET', '/whoami');
    assert.equal(whoami.status, 200);
    assert.deepEqual(whoami.json, { replica: 'orders-1' });
  });

  test('every console log line carries the replica id after the level', async () => {
    await nr.request('GET', '/whoami');
    await nr.proc.waitForLine(/answered/);
    const logLines = nr.proc.lines.filter((l) => / - \[(info|warn|error|debug|trace|fatal)\] /.test(l));
    assert.ok(logLines.length > 5, `expected Node-RED log lines, got:\n${nr.proc.output()}`);
    for (const line of logLines) assert.match(line, / - \[\w+\] \[orders-1\] /, line);
    assert.ok(nr.proc.lines.some((l) => /\[info\] \[orders-1\] HA mode on: instance orders, replica orders-1/.test(l)));
    assert.ok(nr.proc.lines.some((l) => /\[warn\] \[orders-1\] \[function:fn1\] answered/.test(l)));
  });

  test('health probes and status answer', async () => {
    assert.deepEqual((await nr.request('GET', '/ha/health/live')).json, { live: true, replica: 'orders-1' });
    const ready = await nr.request('GET', '/ha/health/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.ready, true);
    const status = await nr.request('GET', '/ha/status');
    assert.equal(status.status, 200);
    assert.equal(status.json.instance, 'orders');
    assert.equal(status.json.replica, 'orders-1');
    assert.equal(status.json.ha, true);
    assert.deepEqual(status.json.replicas.map((r: { id: string; ready: boolean }) => [r.id, r.ready]), [['orders-1', true]]);
  });
});

describe('JSON console lines (NR_HA_LOG_FORMAT=json)', () => {
  test('each line is a JSON object with a replica field', async () => {
    const nr = await NodeRed.start({ name: 'ha-json', env: { ...HA_ENV, NR_HA_LOG_FORMAT: 'json' }, flows: HTTP_FLOW });
    try {
      await nr.proc.waitForLine(/Started flows/);
      const entries = nr.proc.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      assert.ok(entries.length > 5, nr.proc.output());
      for (const entry of entries) {
        assert.equal(entry.replica, 'orders-1');
        assert.ok(entry.level && entry.time && typeof entry.msg === 'string', JSON.stringify(entry));
      }
      assert.ok(entries.some((e) => e.msg === 'HA mode on: instance orders, replica orders-1'));
    } finally {
      await nr.close();
    }
  });
});

describe('HA mode off', () => {
  let nr: NodeRed;
  before(async () => {
    nr = await NodeRed.start({ name: 'ha-off', flows: HTTP_FLOW });
  });
  after(() => nr?.close());

  test('the editor is served and a deploy changes the flows', async () => {
    const editor = await nr.request('GET', '/');
    assert.equal(editor.status, 200);
    assert.match(editor.text, /<title>Node-RED<\/title>/);
    const flows = [...HTTP_FLOW.map((n) => ({ ...n })), { id: 'tab2', type: 'tab', label: 'Added' }];
    const deploy = await nr.request('POST', '/flows', flows, { 'Node-RED-Deployment-Type': 'full' });
    assert.ok([200, 204].includes(deploy.status), deploy.text);
    const after = await nr.request('GET', '/flows');
    assert.ok(after.json.some((n: { id: string }) => n.id === 'tab2'));
    assert.ok(nr.proc.lines.some((l) => /\[info\] HA mode off/.test(l)), 'one start-up line says HA is off');
  });
});

describe('installed from the palette without withHA', () => {
  test('HA on: the plugin serves /ha/* and says in one line what it cannot do', async () => {
    const nr = await NodeRed.start({ name: 'unwrapped', env: HA_ENV, flows: HTTP_FLOW, wrap: false });
    try {
      const line = await nr.proc.waitForLine(/not wrapped with withHA/);
      assert.match(line, /editor not disabled/);
      assert.equal((await nr.request('GET', '/ha/health/live')).status, 200);
    } finally {
      await nr.close();
    }
  });

  test('Node-RED lists the plugin and the nodes', async () => {
    const nr = await NodeRed.start({ name: 'palette', flows: HTTP_FLOW, wrap: false });
    try {
      const res = await nr.request('GET', '/plugins', undefined, { Accept: 'application/json' });
      assert.equal(res.status, 200, res.text);
      const ids = res.json.map((p: { id: string }) => p.id);
      assert.ok(ids.includes('node-red-ha/ha'), ids.join(', '));
      const nodes = await nr.request('GET', '/nodes', undefined, { Accept: 'application/json' });
      const types = nodes.json.filter((set: { module: string }) => set.module === 'node-red-ha').flatMap((set: { types: string[] }) => set.types);
      assert.deepEqual(types.sort(), ['ha gate', 'project link call', 'project link in', 'project link out']);
    } finally {
      await nr.close();
    }
  });
});

describe('invalid configuration stops start-up', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['missing instance', { NR_HA_ENABLED: 'true' }, /NR_HA_INSTANCE is required/],
    ['bad instance characters', { NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'orders/eu west' }, /NR_HA_INSTANCE must be .* got "orders\/eu west"/],
    ['bad replica', { ...HA_ENV, NR_HA_REPLICA: 'x'.repeat(65) }, /NR_HA_REPLICA must be/],
    ['malformed Redis URL', { ...HA_ENV, NR_HA_REDIS_URL: 'localhost:6379' }, /NR_HA_REDIS_URL must be a redis:\/\/host/],
    ['non-numeric lease', { ...HA_ENV, NR_HA_LEASE_MS: 'five' }, /NR_HA_LEASE_MS must be a whole number .* got "five"/],
    ['bad enabled flag', { NR_HA_ENABLED: 'maybe' }, /NR_HA_ENABLED must be true\/1 or false\/0, got "maybe"/],
    ['bad link queue limit', { ...HA_ENV, NR_HA_LINK_QUEUE_MESSAGES: 'lots' }, /NR_HA_LINK_QUEUE_MESSAGES must be a whole number .* got "lots"/],
  ];
  for (const [label, env, message] of cases) {
    for (const wrap of [true, false]) {
      test(`${label} (${wrap ? 'withHA' : 'plugin only'}): message names the variable, non-zero exit`, async () => {
        const nr = await NodeRed.start({ name: label, env, flows: HTTP_FLOW, wrap, waitFor: null });
        try {
          const code = await nr.proc.exited;
          assert.notEqual(code, 0);
          assert.match(nr.proc.output(), message);
          assert.doesNotMatch(nr.proc.output(), /Server now running/);
        } finally {
          await nr.close();
        }
      });
    }
  }
});
