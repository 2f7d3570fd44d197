import fs from 'node:fs';
import path from 'node:path';
import { LauncherError } from './errors';

/** The Node-RED the replicas run. */
export interface NodeRedInstall {
  /** red.js, the script `node-red` runs. */
  redJs: string;
  version: string;
  /** Where Node-RED's core nodes live; it scans node_modules folders above it for node packages. */
  coreNodesDir: string;
}

/** The root of this package (holding package.json), whether installed or a source checkout. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Finds Node-RED the way a user expects: the project's own (resolved from `cwd`) first, then the
 * one next to this package. It is a peer dependency, so neither is guaranteed.
 */
export function resolveNodeRed(cwd: string): NodeRedInstall {
  let manifest: string;
  try {
    manifest = require.resolve('node-red/package.json', { paths: [cwd, PACKAGE_ROOT] });
  } catch {
    throw new LauncherError('HA_LAUNCH_NODE_RED_MISSING',
      `node-red is not installed in ${cwd} or next to node-red-ha: run \`npm install node-red@4\` in your project`);
  }
  const dir = path.dirname(manifest);
  const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string };
  if (!/^4\./.test(version)) {
    throw new LauncherError('HA_LAUNCH_NODE_RED_MISSING', `node-red ${version} at ${dir} is not supported: node-red-ha needs node-red 4.x`);
  }
  const coreNodesDir = path.dirname(require.resolve('@node-red/nodes', { paths: [path.join(dir, 'lib')] }));
  return { redJs: path.join(dir, 'red.js'), version, coreNodesDir };
}

/**
 * True when Node-RED would not find this package by itself: it scans `<dir>/node_modules` for
 * every folder from its core nodes up to the file-system root, so an installed package is found
 * and a source checkout (or a package installed elsewhere) is not.
 */
export function needsLinkIntoUserDir(packageRoot: string, coreNodesDir: string): boolean {
  const parent = path.dirname(packageRoot);
  if (path.basename(parent) !== 'node_modules') return true;
  const owner = path.dirname(parent);
  const relative = path.relative(owner, coreNodesDir);
  const isAncestor = relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  return !isAncestor;
}
