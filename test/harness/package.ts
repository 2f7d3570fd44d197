import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const NODE_RED_BIN = path.join(REPO_ROOT, 'node_modules', 'node-red', 'red.js');

/**
 * Makes a Node-RED user dir with node-red-ha installed the way the palette installs it: from the
 * `npm pack` tarball, with the palette's npm flags. Test processes copy its node_modules, so the
 * (slow) install runs once per test run: test/run.ts makes it and passes NR_HA_TEST_TEMPLATE.
 */
export function prepareTemplate(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-template-'))): string {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'plugins', 'ha.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the tests (npm test does)');
  }
  fs.mkdirSync(dir, { recursive: true });
  const packed = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], {
    cwd: REPO_ROOT, encoding: 'utf8',
  }).trim().split('\n').pop()!;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
  execFileSync('npm', [
    'install', '--no-audit', '--no-update-notifier', '--no-fund', '--save', '--save-prefix=~', '--omit=dev',
    '--engine-strict', '--prefer-offline', path.join(dir, packed),
  ], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

let template: string | undefined;

/** The prepared template dir, made on first use when the test runner did not provide one. */
export function templateDir(): string {
  template ??= process.env.NR_HA_TEST_TEMPLATE || prepareTemplate();
  return template;
}

/** A fresh Node-RED user dir holding a copy of the installed package. */
export function makeUserDir(): string {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-userdir-'));
  const source = templateDir();
  fs.copyFileSync(path.join(source, 'package.json'), path.join(userDir, 'package.json'));
  fs.cpSync(path.join(source, 'node_modules'), path.join(userDir, 'node_modules'), { recursive: true });
  return userDir;
}
