import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { NodeRed } from '../harness/node-red';
import fs from 'node:fs';
import { makeUserDir, REPO_ROOT } from '../harness/package';
import { freePort } from '../harness/ports';
import { Proc } from '../harness/process';
import { RedisServer } from '../harness/redis';

const TOKEN = 'push-token-for-tests';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

/** GET /version answers which flows version and replica served it. */
function versionFlow(version: number) {
  return [
    { id: 'tab1', type: 'tab', label: 'API' },
    { id: 'in1', z: 'tab1', type: 'http in', url: '/version', method: 'get', wires: [['fn1']] },
    { id: 'fn1', z: 'tab1', type: 'function', func: `msg.payload = { version: ${version}, replica: env.get("NR_HA_REPLICA") || "dev" }; return msg;`, outputs: 1, wires: [['out1']] },
    { id: 'out1', z: 'tab1', type: 'http response', wires: [] },
    // A request in flight when its replica starts draining must still be answered.
    { id: 'in3', z: 'tab1', type: 'http in', url: '/slow', method: 'get', wires: [['delay3']] },
    { id: 'delay3', z: 'tab1', type: 'delay', pauseType: 'delay', timeout: '1200', timeoutUnits: 'milliseconds', rate: '1', nbRateUnits: '1',
      rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, outputs: 1, wires: [['out3']] },
    { id: 'out3', z: 'tab1', type: 'http response', wires: [] },
  ];
}

/** Version 2 adds GET /call: an http request node with basic-auth credentials calling the test's server. */
function flowsV2(echoUrl: string) {
  return [
    ...versionFlow(2),
    { id: 'in2', z: 'tab1', type: 'http in', url: '/call', method: 'get', wires: [['req2']] },
    { id: 'req2', z: 'tab1', type: 'http request', method: 'GET', ret: 'obj', url: echoUrl, authType: 'basic', wires: [['out2']],
      credentials: { user: 'alice', password: 'wonderland' } },
    { id: 'out2', z: 'tab1', type: 'http response', wires: [] },
  ];
}

/** Answers with the basic-auth user it received, so a test sees the pushed credentials work. */
async function startEchoServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const header = req.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : '';
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ auth: decoded }));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}/echo`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * The load balancer of the acceptance test: round-robin over the replicas whose
 * /ha/health/ready answers 200, probed every 100 ms like a (fast) Kubernetes readiness probe.
 */
class ReadyProxy {
  private ready: NodeRed[] = [];
  private next = 0;
  private timer?: NodeJS.Timeout;
  private server?: http.Server;
  port = 0;

  constructor(private readonly replicas: NodeRed[]) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => { void this.probe(); }, 100);
    await this.probe();
    this.server = http.createServer((req, res) => {
      const target = this.ready.length ? this.ready[this.next++ % this.ready.length] : undefined;
      if (!target) {
        res.statusCode = 503;
        return res.end('no ready replica');
      }
      const upstream = http.request({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers, agent: false }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => {
        res.statusCode = 502;
        res.end('upstream error');
      });
      req.pipe(upstream);
    });
    this.port = await freePort();
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  add(replica: NodeRed): void {
    this.replicas.push(replica);
  }

  private async probe(): Promise<void> {
    const states = await Promise.all(this.replicas.map((r) => fetch(`${r.url}/ha/health/ready`).then((res) => res.status === 200, () => false)));
    this.ready = this.replicas.filter((_, i) => states[i]);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await new Promise<void>((resolve) => this.server ? this.server.close(() => resolve()) : resolve());
  }
}

/**
 * Requests through the proxy back to back until stopped: `workers` loops on /version and
 * `slowWorkers` on /slow (1.2 s each, so some are always in flight when a replica starts draining).
 */
function steadyLoad(url: string, workers = 4, slowWorkers = 2) {
  let running = true;
  const results = { ok: 0, slowOk: 0, failed: [] as string[], versions: new Set<number>() };
  const loop = async (path: string) => {
    while (running) {
      try {
        const res = await fetch(`${url}${path}`);
        const text = await res.text();
        if (res.status !== 200) {
          results.failed.push(`${path} ${res.status} ${text.slice(0, 100)}`);
        } else if (path === '/slow') {
          results.slowOk++;
        } else {
          results.ok++;
          results.versions.add(JSON.parse(text).version);
        }
      } catch (err) {
        results.failed.push(`${path} ${(err as Error).message}`);
      }
    }
  };
  const loops = [...Array.from({ length: workers }, () => loop('/version')), ...Array.from({ length: slowWorkers }, () => loop('/slow'))];
  return { results, stop: async () => { running = false; await Promise.all(loops); return results; } };
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

function runPush(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = new Proc('push', process.execPath, [path.join(REPO_ROOT, 'dist', 'bin', 'node-red-ha.js'), 'push', ...args], {
    env: { ...process.env, NR_HA_SYNC_TOKEN: '' },
  });
  return proc.exited.then((code) => ({ code, output: proc.output() }));
}

/** A user dir whose image has one more node type (`extra-node`) than the other replicas. */
function userDirWithExtraNode(): string {
  const userDir = makeUserDir();
  fs.mkdirSync(path.join(userDir, 'nodes'));
  fs.writeFileSync(path.join(userDir, 'nodes', 'extra-node.js'),
    "module.exports = (RED) => RED.nodes.registerType('extra-node', function (config) { RED.nodes.createNode(this, config); });\n");
  fs.writeFileSync(path.join(userDir, 'nodes', 'extra-node.html'),
    '<script type="text/javascript">RED.nodes.registerType("extra-node", {category: "function", defaults: {}, inputs: 1, outputs: 0});</script>\n');
  return userDir;
}

/** Encrypts credentials the way Node-RED does, with another key than the instance's. */
function encryptWith(secret: string, credentials: unknown): { $: string } {
  const key = createHash('sha256').update(secret).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return { $: iv.toString('hex') + cipher.update(JSON.stringify(credentials), 'utf8', 'base64') + cipher.final('base64') };
}

describe('flow sync: dev instance -> 3 HA replicas', () => {
  let redis: RedisServer;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let dev: NodeRed;
  const replicas: NodeRed[] = [];
  let proxy: ReadyProxy;
  const haOptions = (id: string) => ({
    name: id,
    env: { NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'shop', NR_HA_REPLICA: id, NR_HA_REDIS_URL: redis.url, NR_HA_SYNC_TOKEN: TOKEN },
    settings: { haRollout: { drainMs: 1000 } },
    flows: versionFlow(1),
  });

  const version = async (nr: NodeRed) => (await nr.request('GET', '/version')).json?.version;
  const head = async () => (await replicas[0].request('GET', '/ha/snapshot', undefined, AUTH)).json.revision as number;

  before(async () => {
    redis = await RedisServer.start();
    echo = await startEchoServer();
    // The first replica seeds Redis from its flows file; the others then load that revision.
    replicas.push(await NodeRed.start(haOptions('shop-1')));
    const [second, third, devInstance] = await Promise.all([
      NodeRed.start(haOptions('shop-2')), NodeRed.start(haOptions('shop-3')), NodeRed.start({ name: 'dev', flows: versionFlow(1), userDir: userDirWithExtraNode(), env: { NR_HA_SYNC_TOKEN: TOKEN } }),
    ]);
    replicas.push(second, third);
    dev = devInstance;
    proxy = new ReadyProxy([...replicas]);
    await proxy.start();
    await waitFor('every replica ready', async () => {
      const states = await Promise.all(replicas.map((r) => r.request('GET', '/ha/health/ready')));
      return states.every((s) => s.status === 200);
    });
  });

  after(async () => {
    await proxy?.close();
    await Promise.all([...replicas, dev].filter(Boolean).map((nr) => nr.close()));
    await echo?.close();
    await redis?.close();
  });

  test('the replicas run revision 1, seeded from the first replica\'s flows file', async () => {
    assert.equal(await head(), 1);
    for (const replica of replicas) {
      assert.equal(await version(replica), 1);
      assert.equal((await replica.request('GET', '/ha/status')).json.revision, 1);
    }
  });

  test('GET /ha/snapshot on the dev instance (HA off) serves its flows and encrypted credentials; it takes no pushes', async () => {
    const deploy = await dev.request('POST', '/flows', flowsV2(echo.url), { 'Node-RED-Deployment-Type': 'full' });
    assert.ok([200, 204].includes(deploy.status), deploy.text);
    const snapshot = await dev.request('GET', '/ha/snapshot');
    assert.equal(snapshot.status, 200, snapshot.text);
    assert.equal(snapshot.json.revision, null);
    assert.deepEqual(snapshot.json.flows.map((n: { id: string }) => n.id).sort(),
      ['delay3', 'fn1', 'in1', 'in2', 'in3', 'out1', 'out2', 'out3', 'req2', 'tab1']);
    assert.equal(typeof snapshot.json.credentials.$, 'string', 'credentials stay encrypted');
    assert.doesNotMatch(snapshot.text, /wonderland/);
    const refused = await dev.request('POST', '/ha/sync', { flows: versionFlow(5) }, AUTH);
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.code, 'ha_sync_unavailable');
    assert.match(refused.json.message, /HA mode is off on this instance/);
  });

  test('push under steady load: every replica runs the new flows, credentials work, no request fails', async () => {
    const load = steadyLoad(proxy.url);
    await waitFor('load flowing', async () => load.results.ok > 20);
    const pushed = await runPush(['--from', dev.url, '--to', proxy.url, '--token', TOKEN]);
    const results = await waitFor('requests after the push', async () => load.results.ok > 0 && load.results.versions.has(2) && load.results);
    await load.stop();

    assert.equal(pushed.code, 0, pushed.output);
    assert.match(pushed.output, /revision 2 stored/);
    for (const id of ['shop-1', 'shop-2', 'shop-3']) {
      assert.match(pushed.output, new RegExp(`${id}: draining`), pushed.output);
      assert.match(pushed.output, new RegExp(`${id}: running revision 2 \\(done\\)`), pushed.output);
    }
    assert.match(pushed.output, /revision 2 runs on every live replica \(3\)/);
    assert.deepEqual(results.failed, [], `failed requests during the push: ${results.failed.slice(0, 5).join(' | ')}`);
    assert.ok(results.ok > 100, `only ${results.ok} requests went through`);
    assert.ok(results.slowOk >= 6, `only ${results.slowOk} slow requests went through`);

    for (const replica of replicas) {
      assert.equal(await version(replica), 2);
      assert.equal((await replica.request('GET', '/ha/status')).json.revision, 2);
      const call = await replica.request('GET', '/call');
      assert.equal(call.status, 200, call.text);
      assert.deepEqual(call.json, { auth: 'alice:wonderland' });
    }
    assert.equal(await head(), 2);

    const again = await runPush(['--from', dev.url, '--to', proxy.url, '--token', TOKEN]);
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /already has these flows as revision 2/);
    assert.match(again.output, /revision 2 runs on every live replica \(3\)/);
    assert.equal(await head(), 2, 'the same flows again make no new revision');
  });

  test('a replica started after the push runs the pushed revision, not its own flows file', async () => {
    const late = await NodeRed.start({ ...haOptions('shop-4'), userDir: userDirWithExtraNode() });
    replicas.push(late);
    await waitFor('shop-4 ready', async () => (await late.request('GET', '/ha/health/ready')).status === 200);
    assert.equal(await version(late), 2);
    assert.deepEqual((await late.request('GET', '/call')).json, { auth: 'alice:wonderland' });
    assert.equal((await late.request('GET', '/ha/status')).json.revision, 2);
    // Replicas report to the rollout status every 500 ms: shop-4 joins it within a few reports.
    const status = await waitFor('shop-4 in the rollout status', async () => {
      const res = await late.request('GET', '/ha/sync/2', undefined, AUTH);
      return res.json.replicas.length === 4 && res.json;
    }, 10_000);
    assert.equal(status.state, 'done');
    assert.deepEqual(status.replicas.map((r: { id: string; revision: number }) => [r.id, r.revision]),
      [['shop-1', 2], ['shop-2', 2], ['shop-3', 2], ['shop-4', 2]]);
  });

  test('a push naming node types the image lacks: 400 with the types, no replica changed', async () => {
    const flows = [...flowsV2(echo.url), { id: 'x1', z: 'tab1', type: 'no-such-node', wires: [] }, { id: 'x2', z: 'tab1', type: 'other missing', wires: [] }];
    const res = await replicas[1].request('POST', '/ha/sync', { flows }, AUTH);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.code, 'ha_snapshot_invalid');
    assert.deepEqual(res.json.missingTypes, ['no-such-node', 'other missing']);
    assert.match(res.json.message, /node types not installed on this instance: no-such-node, other missing/);
    assert.equal(await head(), 2);
    for (const replica of replicas) assert.equal((await replica.request('GET', '/ha/status')).json.revision, 2);
  });

  test('a push without the token is refused and changes nothing', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong-token' }] as Array<Record<string, string>>) {
      const res = await replicas[0].request('POST', '/ha/sync', { flows: versionFlow(9) }, headers);
      assert.equal(res.status, 401, res.text);
      assert.equal(res.json.code, 'ha_unauthorized');
    }
    const cli = await runPush(['--from', dev.url, '--to', proxy.url, '--token', 'wrong-token']);
    assert.equal(cli.code, 1);
    assert.match(cli.output, /401 unauthorized: pass the instance's NR_HA_SYNC_TOKEN with --token/);
    assert.equal(await head(), 2);
    assert.equal(await version(replicas[0]), 2);
  });

  test('malformed JSON and wrong shapes: 400 naming the problem, nothing changes', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{"flows": [', /not valid JSON/],
      ['[]', /body must be a JSON object/],
      [{ nodes: [] }, /unknown fields: nodes.*"flows" is missing/],
      [{ flows: {} }, /"flows" must be an array of nodes, got an object/],
      [{ flows: [{ id: 'a' }, 'b'] }, /flows\[0\] \(id a\) has no string "type".*flows\[1\] must be a node object, got a string/],
      [{ flows: [{ id: 'a', type: 'tab' }, { id: 'a', type: 'tab' }] }, /duplicate node ids: a/],
      [{ flows: versionFlow(3), credentials: [] }, /"credentials" must be an object/],
      [{ flows: versionFlow(3), credentials: encryptWith('another-secret', { req2: { user: 'x' } }) }, /do not decrypt with this instance's credentialSecret/],
    ];
    for (const [body, message] of cases) {
      const res = await replicas[2].request('POST', '/ha/sync', body, AUTH);
      assert.equal(res.status, 400, `${JSON.stringify(body)} -> ${res.status} ${res.text}`);
      assert.equal(res.json?.code, 'ha_snapshot_invalid', res.text);
      assert.match(res.json.message, message);
    }
    const huge = await replicas[2].request('POST', '/ha/sync', { flows: [{ id: 'a', type: 'comment', info: 'x'.repeat(6 * 1024 * 1024) }] }, AUTH);
    assert.equal(huge.status, 413, huge.text.slice(0, 200));
    assert.match(huge.json.message, /apiMaxLength/);
    assert.equal(await head(), 2);
    for (const replica of replicas) assert.equal(await version(replica), 2);
  });

  test('the readiness check refuses flows with errors unless --force', async () => {
    const flows = [...flowsV2(echo.url), { id: 'file1', z: 'tab1', type: 'file', filename: '/tmp/orders.log', wires: [] }];
    const deploy = await dev.request('POST', '/flows', flows, { 'Node-RED-Deployment-Type': 'full' });
    assert.ok([200, 204].includes(deploy.status), deploy.text);
    const refused = await runPush(['--from', dev.url, '--to', proxy.url, '--token', TOKEN]);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /local-file-write/);
    assert.match(refused.output, /push refused: the readiness check found 1 error\(s\); fix them or push with --force/);
    assert.equal(await head(), 2);
  });

  test('a replica that cannot apply a revision returns to the previous one, the rollout stops and push says why', async () => {
    // Only shop-4 (and dev) have extra-node: shop-4 accepts the push, the other replicas cannot run it.
    const flows = [...versionFlow(3), ...flowsV2(echo.url).slice(versionFlow(2).length), { id: 'x1', z: 'tab1', type: 'extra-node', wires: [] },
      { id: 'file1', z: 'tab1', type: 'file', filename: '/tmp/orders.log', wires: [] }];
    const deploy = await dev.request('POST', '/flows', flows, { 'Node-RED-Deployment-Type': 'full' });
    assert.ok([200, 204].includes(deploy.status), deploy.text);
    const pushed = await runPush(['--from', dev.url, '--to', replicas[3].url, '--token', TOKEN, '--force']);
    assert.equal(pushed.code, 1, pushed.output);
    assert.match(pushed.output, /pushing despite 1 error\(s\) \(--force\)/);
    assert.match(pushed.output, /revision 3 stored/);
    assert.match(pushed.output, /rollout of revision 3 stopped: replica shop-[123]: revision 3 failed to apply: node types not installed on this replica: extra-node; the instance went back to revision 2/);
    await waitFor('every replica back on revision 2', async () => {
      const statuses = await Promise.all(replicas.map((r) => r.request('GET', '/ha/status')));
      return statuses.every((s) => s.json.revision === 2);
    });
    assert.equal(await head(), 2);
    for (const replica of replicas) {
      assert.equal(await version(replica), 2);
      assert.equal((await replica.request('GET', '/ha/health/ready')).status, 200);
    }
    const status = await replicas[0].request('GET', '/ha/sync/3', undefined, AUTH);
    assert.equal(status.json.state, 'failed');
  });

  test('Redis losing its data: the replicas put back the revision they run, under its number', async () => {
    await redis.stop('SIGKILL');
    await redis.restart();
    const snapshot = await waitFor('the head restored', async () => {
      const res = await replicas[0].request('GET', '/ha/snapshot', undefined, AUTH);
      return res.status === 200 && res.json;
    }, 20_000);
    assert.equal(snapshot.revision, 2);
    assert.ok(snapshot.flows.some((n: { id: string }) => n.id === 'req2'), 'revision 2 holds the pushed flows, not a local flow file');
    assert.equal(typeof snapshot.credentials.$, 'string');
    for (const replica of replicas) {
      assert.equal(await version(replica), 2);
      assert.equal((await replica.request('GET', '/ha/status')).json.revision, 2);
    }
  });

  test('a replica that starts while Redis is down runs the newest revision once Redis is back', async () => {
    await redis.stop('SIGKILL');
    const late = await NodeRed.start({ ...haOptions('shop-5'), settings: { haRollout: { drainMs: 1000, applyTimeoutMs: 3000 } } });
    replicas.push(late);
    await late.proc.waitForLine(/HA flows: Redis not reachable within \d+ ms; no flows run until Redis is back/, 60_000);
    assert.equal((await late.request('GET', '/ha/health/ready')).status, 503);
    await redis.restart();
    await waitFor('shop-5 ready on revision 2', async () => (await late.request('GET', '/ha/health/ready')).status === 200, 30_000);
    assert.equal(await version(late), 2);
    assert.deepEqual((await late.request('GET', '/call')).json, { auth: 'alice:wonderland' });
    assert.equal((await late.request('GET', '/ha/status')).json.revision, 2);
  });
});
