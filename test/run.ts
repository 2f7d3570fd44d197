// The test command (npm test): unit tests in parallel, then the tests that run real Node-RED,
// Redis and Mosquitto processes one file at a time (2 cores: parallel servers would starve).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { prepareTemplate, REPO_ROOT } from './harness/package';

const args = process.argv.slice(2);
const suites = ['unit', 'integration', 'faults'];
const listed = (suite: string) =>
  fs.readdirSync(path.join(REPO_ROOT, 'test', suite)).filter((f) => f.endsWith('.test.ts')).map((f) => path.join('test', suite, f));

let failed = false;
const only = args.length ? args : undefined;
const template = prepareTemplate(path.join(REPO_ROOT, 'test', '.cache', `template-${process.pid}`));
try {
  for (const suite of suites) {
    const files = (only ?? listed(suite)).filter((f) => f.includes(`${path.sep}${suite}${path.sep}`) || f.includes(`/${suite}/`));
    if (!files.length) continue;
    const result = spawnSync(process.execPath, [
      '--import', 'tsx', '--test', '--test-reporter=spec',
      `--test-concurrency=${suite === 'unit' ? 2 : 1}`, ...files,
    ], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, NR_HA_TEST_TEMPLATE: template } });
    if (result.status !== 0) failed = true;
  }
} finally {
  fs.rmSync(template, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
