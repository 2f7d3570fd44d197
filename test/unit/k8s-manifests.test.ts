import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const DIR = path.join(__dirname, '..', '..', 'examples', 'kubernetes');

interface Manifest {
  file: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Every document of every .yaml file, parsed strictly (a YAML error fails the test). */
function loadManifests(): Manifest[] {
  return fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').flatMap((file) =>
    parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8')).map((doc) => {
      assert.deepEqual(doc.errors, [], `${file}: ${doc.errors.join('; ')}`);
      const value = doc.toJS() as Manifest;
      assert.ok(value?.kind && value.metadata?.name, `${file}: every document has a kind and a name`);
      return { ...value, file };
    }));
}

const manifests = loadManifests();
const find = (kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  assert.ok(found, `${kind}/${name} is defined`);
  return found;
};
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

const deployment = find('Deployment', 'orders');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const env: Array<{ name: string; value?: string; valueFrom?: any }> = container.env;
const envNamed = (name: string) => {
  const entry = env.find((e) => e.name === name);
  assert.ok(entry, `env ${name} is set`);
  return entry;
};

describe('examples/kubernetes', () => {
  test('kustomization lists every manifest file, and only existing ones', () => {
    const kustomization = parseAllDocuments(fs.readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8'))[0].toJS();
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
    assert.deepEqual([...kustomization.resources].sort(), files);
  });

  test('holds the parts of an HA instance', () => {
    const kinds = manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    for (const part of ['Deployment/orders', 'Service/orders', 'PodDisruptionBudget/orders', 'ConfigMap/orders-settings',
      'Secret/orders-ha', 'StatefulSet/orders-redis', 'Service/orders-redis', 'Deployment/orders-mosquitto',
      'Service/orders-mosquitto', 'ConfigMap/orders-mosquitto']) {
      assert.ok(kinds.includes(part), `${part} in ${kinds.join(', ')}`);
    }
  });

  test('3 replicas, rolled one at a time without losing capacity', () => {
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(deployment.spec.strategy.type, 'RollingUpdate');
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.ok(deployment.spec.strategy.rollingUpdate.maxSurge >= 1);
    assert.ok(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels), 'selector matches the pods');
  });

  test('probes use /ha/health/ready and /ha/health/live on the Node-RED port', () => {
    const port = container.ports.find((p: { name: string }) => p.name === 'http');
    assert.equal(port.containerPort, 1880);
    assert.equal(container.readinessProbe.httpGet.path, '/ha/health/ready');
    assert.equal(container.livenessProbe.httpGet.path, '/ha/health/live');
    for (const probe of [container.readinessProbe, container.livenessProbe]) assert.ok([1880, 'http'].includes(probe.httpGet.port));
  });

  test('stopping drains: preStop pause inside a longer termination grace period', () => {
    const preStop = container.lifecycle.preStop;
    const pauseSeconds = preStop.sleep?.seconds ?? Number(preStop.exec?.command?.[1]);
    assert.ok(pauseSeconds > 0, 'preStop pauses before SIGTERM');
    assert.ok(pod.terminationGracePeriodSeconds >= pauseSeconds + 20, 'time left to stop flows after the pause');
  });

  test('Service and PodDisruptionBudget select exactly the Deployment pods', () => {
    const labels = deployment.spec.template.metadata.labels;
    assert.ok(matches(find('Service', 'orders').spec.selector, labels));
    const pdb = find('PodDisruptionBudget', 'orders');
    assert.ok(matches(pdb.spec.selector.matchLabels, labels));
    assert.ok(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < deployment.spec.replicas, 'a drain can still move one pod');
    assert.equal(find('Service', 'orders').spec.ports[0].targetPort, 'http');
  });

  test('every replica runs in HA mode with the same instance, Redis and broker, named after its pod', () => {
    assert.equal(envNamed('NR_HA_ENABLED').value, 'true');
    assert.match(envNamed('NR_HA_INSTANCE').value ?? '', /^[A-Za-z0-9_.:-]{1,64}$/);
    assert.equal(envNamed('NR_HA_REPLICA').valueFrom.fieldRef.fieldPath, 'metadata.name');
    const redisUrl = new URL(envNamed('NR_HA_REDIS_URL').value!);
    assert.equal(redisUrl.protocol, 'redis:');
    assert.equal(find('Service', redisUrl.hostname).spec.ports[0].port, Number(redisUrl.port));
    const mqttUrl = new URL(envNamed('NR_HA_MQTT_URL').value!);
    assert.equal(mqttUrl.protocol, 'mqtt:');
    assert.equal(find('Service', mqttUrl.hostname).spec.ports[0].port, Number(mqttUrl.port));
  });

  test('secrets come from the Secret, never inline', () => {
    const secret = find('Secret', 'orders-ha');
    for (const name of ['NR_HA_SYNC_TOKEN', 'NODE_RED_CREDENTIAL_SECRET']) {
      const ref = envNamed(name).valueFrom?.secretKeyRef;
      assert.ok(ref, `${name} is a secretKeyRef`);
      assert.equal(ref.name, secret.metadata.name);
      assert.ok(ref.key in (secret.stringData ?? secret.data ?? {}), `${ref.key} exists in the Secret`);
    }
    for (const entry of env) assert.equal(entry.value !== undefined && /TOKEN|SECRET|PASSWORD/.test(entry.name), false, `${entry.name} inline`);
  });

  test('settings.js from the ConfigMap wraps the settings with withHA and uses the shared credential secret', () => {
    const configMap = find('ConfigMap', 'orders-settings');
    assert.match(configMap.data!['settings.js'], /require\('node-red-ha'\)\.withHA\(/);
    assert.match(configMap.data!['settings.js'], /credentialSecret: process\.env\.NODE_RED_CREDENTIAL_SECRET/);
    const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/data/settings.js');
    assert.ok(mount, 'mounted at /data/settings.js');
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    assert.equal(volume.configMap.name, 'orders-settings');
  });

  test('Mosquitto queues more than the stock 1000 messages per client', () => {
    const conf = find('ConfigMap', 'orders-mosquitto').data!['mosquitto.conf'];
    const queued = /^max_queued_messages (\d+)$/m.exec(conf);
    assert.ok(queued && Number(queued[1]) > 1000, conf);
    const broker = find('Deployment', 'orders-mosquitto').spec.template.spec;
    const mount = broker.containers[0].volumeMounts[0];
    assert.equal(mount.mountPath, '/mosquitto/config/mosquitto.conf');
    assert.equal(broker.volumes.find((v: { name: string }) => v.name === mount.name).configMap.name, 'orders-mosquitto');
  });

  test('Redis keeps its data on a volume with an append-only file', () => {
    const redis = find('StatefulSet', 'orders-redis');
    assert.ok(redis.spec.template.spec.containers[0].args.includes('--appendonly'));
    assert.ok(redis.spec.volumeClaimTemplates.length >= 1);
  });
});
