import type { Command } from 'commander';
import { LaunchArgs, Launcher, LauncherLog, resolveLaunchOptions } from '../launcher';
import { formatJsonLine, formatTextLine } from '../logs/console-line';

const LEVELS = { error: 20, warn: 30, info: 40 } as const;
const PARENT_CHECK_MS = 1000;

/** `node-red-ha start [flows.json] --replicas N --port P --user-dir D`. */
export function register(program: Command): void {
  program.command('start')
    .description('run N Node-RED replicas of one instance on this host behind one port')
    .argument('[flows]', 'flows file copied to every replica at start')
    .option('-r, --replicas <n>', 'number of replicas', '2')
    .option('-p, --port <port>', 'port the replicas are served on', '1880')
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('-u, --user-dir <dir>', 'folder for the shared settings, one user dir per replica and private server data (default: ~/.node-red-ha/<instance>)')
    .option('-s, --settings <file>', 'settings.js shared by the replicas, wrapped with withHA (default: a generated one)')
    .option('--instance <id>', 'NR_HA_INSTANCE (default: $NR_HA_INSTANCE, else the flows file\'s folder name)')
    .option('--admin-root <path>', 'httpAdminRoot of the settings, where /ha/health/ready is probed', '/')
    .option('--no-private-servers', 'never start a private redis-server or mosquitto')
    .option('--stop-timeout <seconds>', 'how long a replica may take to stop before it is killed', '30')
    .action(async (flows: string | undefined, args: Omit<LaunchArgs, 'flows'>) => {
      const options = resolveLaunchOptions({ ...args, flows }, process.env, process.cwd());
      const launcher = new Launcher(options, consoleLog());
      let exitCode = 0;
      const stop = () => {
        launcher.stop().then(() => process.exit(exitCode), () => process.exit(1));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      // A second Ctrl-C must not leave replicas or servers behind: the stop under way finishes.
      process.on('SIGINT', () => undefined);
      // Started through a wrapper (npm, a shell) that died without passing a signal on: stop too.
      const parent = process.ppid;
      const watch = setInterval(() => {
        if (process.ppid === parent) return;
        clearInterval(watch);
        consoleLog()('warn', `parent process ${parent} exited: stopping`);
        stop();
      }, PARENT_CHECK_MS).unref();
      try {
        await launcher.start();
        await launcher.failed;
      } catch (err) {
        exitCode = 1;
        await launcher.stop();
        throw err;
      }
    });
}

function consoleLog(): LauncherLog {
  const json = process.env.NR_HA_LOG_FORMAT === 'json';
  return (level, text) => {
    const event = { level: LEVELS[level], msg: text };
    process.stdout.write((json ? formatJsonLine(event, 'launcher') : formatTextLine(event, 'launcher')) + '\n');
  };
}
