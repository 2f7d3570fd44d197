import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LauncherError } from './errors';

/**
 * The settings.js the replicas share when the user gives none: the example settings, wrapped
 * with withHA from this very copy of the package (so settings and plugin share process state).
 */
export function generatedSettings(packageRoot: string): string {
  return [
    '// Written by `node-red-ha start` at every start; pass --settings <file> to use your own',
    '// (wrapped the same way). The launcher sets uiPort/uiHost and NR_HA_* per replica.',
    `module.exports = require(${JSON.stringify(packageRoot)}).withHA({`,
    "  flowFile: 'flows.json',",
    '  credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET,',
    '});',
    '',
  ].join('\n');
}

/** Reads a flows file and checks it is what Node-RED loads: a JSON array of nodes. */
export function readFlows(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new LauncherError('HA_LAUNCH_FILE', `cannot read flows file ${file}: ${(err as Error).message}`);
  }
  let flows: unknown;
  try {
    flows = JSON.parse(text);
  } catch (err) {
    throw new LauncherError('HA_LAUNCH_FILE', `flows file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(flows)) {
    throw new LauncherError('HA_LAUNCH_FILE', `flows file ${file} must hold a JSON array of nodes (as exported from Node-RED)`);
  }
  return text;
}

/** Node-RED's credentials file beside a flows file: flows.json -> flows_cred.json. */
export function credentialsFileFor(flowsFile: string): string {
  const ext = path.extname(flowsFile);
  return flowsFile.slice(0, flowsFile.length - ext.length) + '_cred' + (ext || '.json');
}

/**
 * One credential secret for all replicas, so credentials encrypted by one decrypt on all.
 * Kept (mode 0600) in the launcher's folder so restarts keep decrypting what was stored.
 */
export function credentialSecret(userDir: string): string {
  const file = path.join(userDir, '.credential-secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const secret = randomBytes(32).toString('hex');
    fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

/**
 * Prepares one replica's user dir: a copy of the flows (and their credentials) when a flows file
 * is given, and, when Node-RED would not find this package by itself, a link to it in
 * node_modules. Anything else already in the folder is left as it is.
 */
export function prepareReplicaDir(dir: string, flows: { file: string; text: string } | undefined, linkPackage?: string): void {
  fs.mkdirSync(dir, { recursive: true });
  if (flows) {
    fs.writeFileSync(path.join(dir, 'flows.json'), flows.text);
    const credentials = credentialsFileFor(flows.file);
    if (fs.existsSync(credentials)) fs.copyFileSync(credentials, path.join(dir, 'flows_cred.json'));
  }
  if (linkPackage) {
    const link = path.join(dir, 'node_modules', 'node-red-ha');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    const existing = fs.lstatSync(link, { throwIfNoEntry: false });
    if (existing?.isSymbolicLink()) fs.unlinkSync(link);
    else if (existing) return;
    fs.symlinkSync(linkPackage, link, 'dir');
  }
}
