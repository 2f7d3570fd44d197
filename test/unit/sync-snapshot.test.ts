import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { credentialKey, decryptCredentials } from '../../lib/sync/credentials';
import { SnapshotInvalidError } from '../../lib/sync/errors';
import { missingTypes, validateSnapshot, ValidationContext } from '../../lib/sync/snapshot';

const SECRET = 'shared-secret';
const KNOWN = new Set(['inject', 'debug', 'http in', 'http response', 'function', 'http request']);

function encrypt(secret: string, credentials: unknown): { $: string } {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(secret).digest(), iv);
  return { $: iv.toString('hex') + cipher.update(JSON.stringify(credentials), 'utf8', 'base64') + cipher.final('base64') };
}

const ctx = (overrides: Partial<ValidationContext> = {}): ValidationContext => ({
  isKnownType: (type) => KNOWN.has(type),
  key: credentialKey((name) => (name === 'credentialSecret' ? SECRET : undefined)),
  ha: true,
  ...overrides,
});

const FLOWS = [
  { id: 't1', type: 'tab', label: 'Flow' },
  { id: 'n1', z: 't1', type: 'inject', wires: [['n2']] },
  { id: 'n2', z: 't1', type: 'debug', wires: [] },
];

function problems(body: unknown, context = ctx()): string[] {
  try {
    validateSnapshot(body, context);
  } catch (err) {
    assert.ok(err instanceof SnapshotInvalidError);
    assert.equal(err.code, 'ha_snapshot_invalid');
    return err.problems;
  }
  assert.fail('expected the snapshot to be refused');
}

describe('validateSnapshot', () => {
  test('accepts flows with encrypted credentials that decrypt with the shared secret', () => {
    const credentials = encrypt(SECRET, { n3: { user: 'alice', password: 'pw' } });
    const snapshot = validateSnapshot({ flows: FLOWS, credentials, revision: 4 }, ctx());
    assert.deepEqual(snapshot, { flows: FLOWS, credentials });
  });

  test('credentials default to none', () => {
    assert.deepEqual(validateSnapshot({ flows: FLOWS }, ctx()).credentials, {});
  });

  test('refuses a body that is not an object', () => {
    for (const body of [null, [], 'flows', 3]) assert.match(problems(body)[0], /body must be a JSON object/);
  });

  test('names missing and wrongly typed fields', () => {
    assert.deepEqual(problems({}), ['"flows" is missing: expected the array of nodes from a flows file']);
    assert.match(problems({ flows: 'x' })[0], /"flows" must be an array of nodes, got a string/);
    assert.match(problems({ flows: FLOWS, extra: 1 })[0], /unknown fields: extra/);
    assert.match(problems({ flows: FLOWS, credentials: 'x' })[0], /"credentials" must be an object/);
    assert.match(problems({ flows: FLOWS, credentials: { $: 5 } })[0], /"credentials.\$" must be the encrypted string/);
  });

  test('names each bad node by index and id, and caps the list', () => {
    assert.deepEqual(problems({ flows: [{ type: 'debug' }, { id: 'a' }, 7, { id: 'b', type: 'debug', z: 3 }] }), [
      'flows[0] has no string "id"',
      'flows[1] (id a) has no string "type"',
      'flows[2] must be a node object, got a number',
      'flows[3] (id b) has a non-string "z"',
    ]);
    const many = problems({ flows: Array.from({ length: 25 }, () => ({})) });
    assert.equal(many.length, 11);
    assert.equal(many[10], 'and 15 more node problems');
  });

  test('reports duplicate ids, missing types and credential problems together', () => {
    const found = problems({
      flows: [...FLOWS, { id: 'n2', z: 't1', type: 'debug' }, { id: 'x', z: 't1', type: 'ui_button' }],
      credentials: encrypt('other-secret', { x: { password: 'p' } }),
    });
    assert.deepEqual(found.map((p) => p.split(':')[0]), ['duplicate node ids', 'node types not installed on this instance', 'the credentials do not decrypt with this instance\'s credentialSecret']);
    assert.match(found[0], /: n2$/);
    assert.match(found[1], /: ui_button \(/);
  });

  test('lists missing types on the error', () => {
    try {
      validateSnapshot({ flows: [...FLOWS, { id: 'a', type: 'zz' }, { id: 'b', type: 'aa' }, { id: 'c', type: 'zz' }] }, ctx());
      assert.fail('expected a refusal');
    } catch (err) {
      assert.deepEqual((err as SnapshotInvalidError).missingTypes, ['aa', 'zz']);
    }
  });

  test('encrypted credentials need a credentialSecret set in settings.js on an HA instance', () => {
    const credentials = encrypt(SECRET, {});
    const generated = credentialKey((name) => (name === '_credentialSecret' ? 'abc' : undefined));
    assert.match(problems({ flows: FLOWS, credentials }, ctx({ key: generated }))[0], /credentialSecret is not set/);
    assert.match(problems({ flows: FLOWS, credentials }, ctx({ key: { kind: 'none' } }))[0], /credentialSecret is not set/);
    assert.match(problems({ flows: FLOWS, credentials }, ctx({ key: { kind: 'disabled' } }))[0], /credentialSecret: false/);
  });

  test('plain credentials are accepted when they are objects per node', () => {
    assert.deepEqual(validateSnapshot({ flows: FLOWS, credentials: { n1: { a: 1 } } }, ctx()).credentials, { n1: { a: 1 } });
    assert.match(problems({ flows: FLOWS, credentials: { n1: 'pw' } })[0], /credentials of n1 must be objects/);
  });
});

describe('missingTypes', () => {
  test('tabs, subflows, groups and defined subflow instances are not node types', () => {
    const flows = [
      { id: 't', type: 'tab' }, { id: 's', type: 'subflow' }, { id: 'g', type: 'group' },
      { id: 'i', type: 'subflow:s' }, { id: 'j', type: 'subflow:gone' }, { id: 'k', type: 'junction' },
    ];
    assert.deepEqual(missingTypes(flows, (type) => type === 'junction'), ['subflow:gone']);
  });
});

describe('credentials', () => {
  test('credentialKey follows Node-RED: false disables, a string is the key, else the generated one', () => {
    assert.deepEqual(credentialKey(() => false), { kind: 'disabled' });
    assert.equal(credentialKey((n) => (n === 'credentialSecret' ? 's' : undefined)).kind, 'user');
    assert.equal(credentialKey((n) => (n === '_credentialSecret' ? 'g' : undefined)).kind, 'generated');
    assert.deepEqual(credentialKey(() => { throw new Error('unavailable'); }), { kind: 'none' });
  });

  test('decryptCredentials reads what Node-RED wrote and fails with another key', () => {
    const { $ } = encrypt(SECRET, { n1: { user: 'u' } });
    assert.deepEqual(decryptCredentials(createHash('sha256').update(SECRET).digest(), $), { n1: { user: 'u' } });
    assert.throws(() => decryptCredentials(createHash('sha256').update('wrong').digest(), $));
    assert.throws(() => decryptCredentials(createHash('sha256').update(SECRET).digest(), 'short'), /16-byte IV/);
  });
});
