export { Launcher, LauncherLog, LogLevel } from './launcher';
export { LaunchArgs, LaunchOptions, resolveLaunchOptions } from './options';
export { LauncherError } from './errors';
