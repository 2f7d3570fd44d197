import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { restartDelay } from '../../lib/launcher/backoff';
import { RoundRobin } from '../../lib/launcher/balancer';
import { LauncherError } from '../../lib/launcher/errors';
import { needsLinkIntoUserDir } from '../../lib/launcher/node-red-install';
import { replicaId, resolveLaunchOptions } from '../../lib/launcher/options';
import { ProxyTarget, ReplicaProxy } from '../../lib/launcher/proxy';
import { describeServices, planServices } from '../../lib/launcher/services';
import { credentialsFileFor, prepareReplicaDir, readFlows } from '../../lib/launcher/user-dir';

describe('launch options', () => {
  const resolve = (args: object, env: Record<string, string> = {}) => resolveLaunchOptions(args, env, '/work/project', '/home/ann');

  test('defaults: 2 replicas on 127.0.0.1:1880, instance from the flows folder, user dir under home', () => {
    const options = resolve({ flows: 'examples/http-counter/flows.json' });
    assert.equal(options.replicas, 2);
    assert.equal(options.port, 1880);
    assert.equal(options.host, '127.0.0.1');
    assert.equal(options.instance, 'http-counter');
    assert.equal(options.flowsFile, '/work/project/examples/http-counter/flows.json');
    assert.equal(options.userDir, '/home/ann/.node-red-ha/http-counter');
    assert.equal(options.adminRoot, '/');
    assert.equal(options.privateServers, true);
  });

  test('NR_HA_INSTANCE and the Redis/MQTT URLs come from the environment; --instance wins', () => {
    const env = { NR_HA_INSTANCE: 'orders', NR_HA_REDIS_URL: 'redis://r:6379', NR_HA_MQTT_URL: 'mqtt://m:1883' };
    const options = resolve({ flows: 'flows.json' }, env);
    assert.deepEqual([options.instance, options.redisUrl, options.mqttUrl], ['orders', 'redis://r:6379', 'mqtt://m:1883']);
    assert.equal(resolve({ instance: 'billing' }, env).instance, 'billing');
  });

  test('a folder name that is not an id is cleaned; no flows file gives "node-red"', () => {
    assert.equal(resolve({ flows: '/x/My Flows (v2)/flows.json' }).instance, 'My-Flows-v2');
    assert.equal(resolve({}).instance, 'node-red');
  });

  test('admin root gets a trailing slash', () => {
    assert.equal(resolve({ adminRoot: '/admin' }).adminRoot, '/admin/');
  });

  for (const [args, message] of [
    [{ replicas: '0' }, /--replicas must be a whole number from 1 to 64, got "0"/],
    [{ replicas: 'three' }, /--replicas must be a whole number .* got "three"/],
    [{ port: '70000' }, /--port must be a whole number from 0 to 65535, got "70000"/],
    [{ instance: 'orders/eu' }, /--instance must be 1-64 characters .* got "orders\/eu"/],
    [{ adminRoot: 'admin' }, /--admin-root must start with "\/"/],
    [{ stopTimeout: '-1' }, /--stop-timeout must be/],
  ] as const) {
    test(`rejects ${JSON.stringify(args)} naming the option`, () => {
      assert.throws(() => resolve(args), (err: LauncherError) => err instanceof LauncherError && err.code === 'HA_LAUNCH_OPTION' && message.test(err.message));
    });
  }

  test('replica ids stay within 64 characters', () => {
    assert.equal(replicaId('orders', 0), 'orders-1');
    const long = replicaId('x'.repeat(64), 11);
    assert.equal(long.length, 64);
    assert.ok(long.endsWith('-12'));
  });
});

describe('restart back-off', () => {
  test('doubles from the base per consecutive crash, capped', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 10, 100].map((n) => restartDelay(n, 500, 30_000)), [500, 1000, 2000, 4000, 8000, 30_000, 30_000]);
  });
});

describe('round robin', () => {
  test('cycles over ready targets only, skipping ones already tried', () => {
    const a = { id: 'a', ready: true };
    const b = { id: 'b', ready: false };
    const c = { id: 'c', ready: true };
    const rr = new RoundRobin<typeof a>();
    assert.deepEqual([1, 2, 3, 4].map(() => rr.pick([a, b, c])?.id), ['a', 'c', 'a', 'c']);
    assert.equal(rr.pick([a, b, c], [a])?.id, 'c');
    assert.equal(rr.pick([a, b, c], [a, c]), undefined);
    assert.equal(rr.pick([]), undefined);
  });
});

describe('finding this package from Node-RED', () => {
  const core = '/p/node_modules/@node-red/nodes';
  test('installed in a node_modules folder Node-RED scans: no link', () => {
    assert.equal(needsLinkIntoUserDir('/p/node_modules/node-red-ha', core), false);
    assert.equal(needsLinkIntoUserDir('/p/node_modules/node-red-ha', '/p/node_modules/node-red/node_modules/@node-red/nodes'), false);
  });
  test('a source checkout or a package installed elsewhere: link it into the user dirs', () => {
    assert.equal(needsLinkIntoUserDir('/src/node-red-ha', core), true);
    assert.equal(needsLinkIntoUserDir('/other/node_modules/node-red-ha', core), true);
  });
});

describe('private servers and features that are off', () => {
  const found = (name: string) => `/usr/bin/${name}`;
  const none = () => undefined;

  test('a given URL wins; else a private server when the binary is found; else off', () => {
    assert.deepEqual(planServices({ redisUrl: 'redis://r:1', privateServers: true }, found), {
      redis: { kind: 'given', url: 'redis://r:1' }, mqtt: { kind: 'private', binary: '/usr/bin/mosquitto' },
    });
    assert.deepEqual(planServices({ privateServers: false }, found), { redis: { kind: 'off' }, mqtt: { kind: 'off' } });
  });

  test('one line per service; off lines say which features are off and why; passwords never shown', () => {
    const lines = describeServices(planServices({ redisUrl: 'redis://:hunter2@r:6379', privateServers: true }, none), true);
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0], { level: 'info', text: 'NR_HA_REDIS_URL: redis://:***@r:6379' });
    assert.equal(lines[1].level, 'warn');
    assert.match(lines[1].text, /project link nodes .*: NR_HA_MQTT_URL is not set and mosquitto is not on the PATH \(apt-get install mosquitto\)/);
    const off = describeServices(planServices({ privateServers: false }, found), false);
    assert.match(off[0].text, /shared context, leader election .* are off: NR_HA_REDIS_URL is not set and --no-private-servers was given/);
  });
});

describe('replica user dirs', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-unit-launcher-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('flows must be a readable JSON array; the error names the file', () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"flows": []}');
    assert.throws(() => readFlows(bad), /flows file .*bad\.json must hold a JSON array/);
    fs.writeFileSync(bad, '[{');
    assert.throws(() => readFlows(bad), (err: LauncherError) => err.code === 'HA_LAUNCH_FILE' && /bad\.json is not valid JSON/.test(err.message));
    assert.throws(() => readFlows(path.join(dir, 'missing.json')), /cannot read flows file .*missing\.json/);
  });

  test('copies flows and their credentials; links the package without replacing a real install', () => {
    const source = path.join(dir, 'src', 'my-flows.json');
    fs.mkdirSync(path.dirname(source));
    fs.writeFileSync(source, '[]');
    fs.writeFileSync(credentialsFileFor(source), '{"$":"x"}');
    const replica = path.join(dir, 'r1');
    prepareReplicaDir(replica, { file: source, text: '[]' }, '/pkg');
    assert.equal(fs.readFileSync(path.join(replica, 'flows.json'), 'utf8'), '[]');
    assert.equal(fs.readFileSync(path.join(replica, 'flows_cred.json'), 'utf8'), '{"$":"x"}');
    assert.equal(fs.readlinkSync(path.join(replica, 'node_modules', 'node-red-ha')), '/pkg');
    prepareReplicaDir(replica, undefined, '/pkg2');
    assert.equal(fs.readlinkSync(path.join(replica, 'node_modules', 'node-red-ha')), '/pkg2');

    const installed = path.join(dir, 'r2', 'node_modules', 'node-red-ha');
    fs.mkdirSync(installed, { recursive: true });
    prepareReplicaDir(path.join(dir, 'r2'), undefined, '/pkg');
    assert.ok(fs.lstatSync(installed).isDirectory(), 'a real install stays');
  });
});

/** A real HTTP server standing in for a replica: answers with its name, counts connections. */
async function backend(name: string): Promise<{ server: http.Server; port: number; connections: () => number; bodies: string[] }> {
  let connections = 0;
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      bodies.push(body);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ replica: name, forwardedFor: req.headers['x-forwarded-for'], connection: req.headers.connection ?? null }));
    });
  });
  server.on('connection', () => { connections++; });
  server.on('upgrade', (req, socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\n`);
    socket.on('data', (data) => socket.write(`${name}:${data}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, connections: () => connections, bodies };
}

async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function target(id: string, port: number): ProxyTarget & { ready: boolean } {
  return { id, port, ready: true, agent: new http.Agent({ keepAlive: true }), markUnreachable() { this.ready = false; } };
}

function request(port: number, method: string, body?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: '/x', agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('replica proxy (real sockets)', () => {
  let a: Awaited<ReturnType<typeof backend>>;
  let b: Awaited<ReturnType<typeof backend>>;
  let targets: Array<ProxyTarget & { ready: boolean }>;
  let proxy: ReplicaProxy;
  let port: number;

  before(async () => {
    [a, b] = await Promise.all([backend('a'), backend('b')]);
    targets = [target('a', a.port), target('gone', await deadPort()), target('b', b.port)];
    proxy = new ReplicaProxy(() => targets);
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as net.AddressInfo).port;
  });
  after(() => {
    proxy.stopAccepting();
    proxy.destroyAll();
    for (const t of targets) t.agent.destroy();
    a.server.close();
    b.server.close();
  });

  test('a refused connection is retried on another replica, which leaves the rotation', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => request(port, 'GET')));
    assert.deepEqual(answers.filter((r) => r.status !== 200), []);
    assert.deepEqual([...new Set(answers.map((r) => r.json.replica))].sort(), ['a', 'b']);
    assert.equal(targets[1].ready, false, 'the unreachable replica is out of rotation');
  });

  test('a POST body survives a refused connection', async () => {
    targets[1].ready = true;
    const seen = a.bodies.length + b.bodies.length;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => request(port, 'POST', `body-${i}`)));
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    const bodies = [...a.bodies, ...b.bodies].filter((x) => x.startsWith('body-'));
    assert.equal(a.bodies.length + b.bodies.length - seen, 6, 'each POST reached exactly one replica');
    assert.deepEqual(bodies.sort(), ['body-0', 'body-1', 'body-2', 'body-3', 'body-4', 'body-5']);
    assert.equal(targets[1].ready, false, 'a POST was refused by the dead replica and retried');
  });

  test('client Connection: close does not close pooled replica connections; X-Forwarded-For is set', async () => {
    const before = a.connections() + b.connections();
    const answers: Array<{ status: number; json: any }> = [];
    for (let i = 0; i < 20; i++) answers.push(await request(port, 'GET'));
    assert.ok(a.connections() + b.connections() - before <= 2, `${a.connections() + b.connections() - before} new replica connections for 20 requests`);
    assert.equal(answers[0].json.forwardedFor, '127.0.0.1');
    assert.notEqual(answers[0].json.connection, 'close');
  });

  test('no ready replica: 503 with a code and Retry-After', async () => {
    for (const t of targets) t.ready = false;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/x`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.equal(((await res.json()) as { code: string }).code, 'no_ready_replica');
    } finally {
      for (const t of targets) t.ready = true;
    }
  });

  test('websocket upgrades are piped both ways', async () => {
    targets[1].ready = false;
    const socket = net.connect(port, '127.0.0.1');
    const received: string[] = [];
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => received.push(chunk));
    socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    await waitFor(() => received.join('').includes('\r\n\r\n'));
    assert.match(received.join(''), /^HTTP\/1\.1 101 Switching Protocols/);
    socket.write('ping');
    await waitFor(() => /[ab]:ping/.test(received.join('')));
    socket.destroy();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
