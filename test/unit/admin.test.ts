import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isFlowChangingRequest } from '../../lib/admin/read-only';
import { bearerMatches, requireAccess } from '../../lib/admin/auth';

describe('isFlowChangingRequest', () => {
  for (const [method, path] of [['POST', '/flows'], ['POST', '/flow'], ['PUT', '/flow/abc'], ['DELETE', '/flow/abc'],
    ['POST', '/nodes'], ['PUT', '/nodes/node-red-ha'], ['DELETE', '/nodes/x/y'], ['POST', '/flows/state'], ['POST', '/projects/p1']]) {
    test(`${method} ${path} changes flows or nodes`, () => assert.equal(isFlowChangingRequest(method, path), true));
  }
  for (const [method, path] of [['GET', '/flows'], ['GET', '/nodes'], ['HEAD', '/flow/x'], ['POST', '/ha/sync'],
    ['POST', '/auth/token'], ['POST', '/flowsx'], ['POST', '/inject/abc'], ['OPTIONS', '/flows']]) {
    test(`${method} ${path} stays open`, () => assert.equal(isFlowChangingRequest(method, path), false));
  }
});

describe('sync token access', () => {
  test('bearerMatches accepts only the exact token', () => {
    assert.equal(bearerMatches('Bearer s3cret', 's3cret'), true);
    assert.equal(bearerMatches('bearer  s3cret ', 's3cret'), true);
    assert.equal(bearerMatches('Bearer s3cre', 's3cret'), false);
    assert.equal(bearerMatches('Basic s3cret', 's3cret'), false);
    assert.equal(bearerMatches(undefined, 's3cret'), false);
    assert.equal(bearerMatches('Bearer anything', undefined), false);
  });

  const run = (mw: ReturnType<typeof requireAccess>, authorization?: string) => {
    let status = 200;
    let passed = false;
    const res = { statusCode: 200, setHeader() {}, end() { status = res.statusCode; } };
    mw({ headers: { authorization } } as never, res as never, () => { passed = true; });
    return passed ? 'next' : status;
  };
  const denyAll = () => (_req: unknown, res: { statusCode: number; end(): void }) => { res.statusCode = 401; res.end(); };

  test('without adminAuth: reads open, writes need the token', () => {
    const deps = { syncToken: 'tok', adminAuth: false, needsPermission: denyAll };
    assert.equal(run(requireAccess(deps, 'read')), 'next');
    assert.equal(run(requireAccess(deps, 'write')), 401);
    assert.equal(run(requireAccess(deps, 'write'), 'Bearer wrong'), 401);
    assert.equal(run(requireAccess(deps, 'write'), 'Bearer tok'), 'next');
    assert.equal(run(requireAccess({ ...deps, syncToken: undefined }, 'write'), 'Bearer tok'), 403);
  });

  test('with adminAuth: Node-RED decides unless the token matches', () => {
    const deps = { syncToken: 'tok', adminAuth: true, needsPermission: denyAll };
    assert.equal(run(requireAccess(deps, 'read')), 401);
    assert.equal(run(requireAccess(deps, 'write'), 'Bearer nope'), 401);
    assert.equal(run(requireAccess(deps, 'write'), 'Bearer tok'), 'next');
  });
});
