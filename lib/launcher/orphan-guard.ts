/**
 * Preloaded into every replica (`node --require`). The launcher talks to its replicas over an IPC
 * channel; if the launcher dies without stopping them (kill -9, crash), the channel closes and the
 * replica stops itself the usual way instead of running on as an orphan.
 */
if (process.send) {
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
