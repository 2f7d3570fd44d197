// Loaded into a benchmarked Node-RED with NODE_OPTIONS=--require (see cpu-profile.ts): the first
// SIGWINCH starts a CPU profile, the next writes it to $NRHA_BENCH_PROFILE. SIGWINCH because Node-RED
// leaves it alone (SIGUSR2 stops it, SIGUSR1 opens the debugger).
'use strict';
const fs = require('node:fs');
const inspector = require('node:inspector');

const out = process.env.NRHA_BENCH_PROFILE;
if (out) {
  const session = new inspector.Session();
  session.connect();
  let running = false;
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      // Written aside, then renamed, so the reader never sees half a file.
      fs.writeFileSync(`${out}.tmp`, err ? JSON.stringify({ error: err.message }) : JSON.stringify(result.profile));
      fs.renameSync(`${out}.tmp`, out);
    });
  });
}
