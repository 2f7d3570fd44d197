#!/usr/bin/env node
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { register as start } from '../lib/cli/start';
import { register as logs } from '../lib/cli/logs';
import { register as status } from '../lib/cli/status';
import { register as check } from '../lib/cli/check';
import { register as push } from '../lib/cli/push';

/**
 * The `node-red-ha` command. Each verb lives in lib/cli/<verb>.ts and registers itself on the
 * program; this file only lists them.
 */
const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
const program = new Command('node-red-ha')
  .description('High Availability mode for Node-RED: replicas, flow pushes, logs, readiness checks')
  .version(version);

const verbs: Array<(program: Command) => void> = [start, logs, status, check, push];
for (const register of verbs) register(program);

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`node-red-ha: ${err.message}`);
  process.exit(1);
});
