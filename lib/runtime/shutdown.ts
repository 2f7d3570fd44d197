/**
 * Node-RED answers SIGTERM/SIGINT by stopping its flows at once: HTTP-in routes vanish (404) and a
 * message can no longer travel from one node to the next. A replica must first leave the load
 * balancer's rotation, stop taking link messages and finish the ones the broker already gave it (a
 * shared subscription never hands those to another replica). So the listeners that were there
 * when the first drain registered (Node-RED's own, which red.js adds before any plugin loads) run
 * only after every registered drain has finished; each drain bounds its own time. A second signal
 * during the drain runs them at once, so an operator can still force a stop.
 *
 * The listeners are taken over rather than process.emit patched: Node binds process.emit to a
 * signal when its first listener is added, so a later patch never sees the signal.
 */
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type Signal = (typeof SIGNALS)[number];
type Listener = (signal: Signal) => void;

let drainers: Array<() => Promise<void>> = [];
const held = new Map<Signal, Listener[]>();
let draining = false;

/** Runs `drain` before Node-RED sees a stop signal. Returns a function that unregisters it. */
export function drainBeforeStop(drain: () => Promise<void>): () => void {
  drainers.push(drain);
  if (!held.size) install();
  return () => { drainers = drainers.filter((d) => d !== drain); };
}

function install(): void {
  for (const signal of SIGNALS) {
    held.set(signal, process.listeners(signal) as Listener[]);
    process.removeAllListeners(signal);
    process.on(signal, onSignal);
  }
}

function onSignal(signal: Signal): void {
  if (draining || !drainers.length) {
    release(signal);
    return;
  }
  draining = true;
  void Promise.allSettled(drainers.map((drain) => drain())).finally(() => release(signal));
}

function release(signal: Signal): void {
  const listeners = held.get(signal) ?? [];
  if (!listeners.length) {
    // Nobody else handles it: restore the default action (exit by the signal).
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
    return;
  }
  for (const listener of listeners) listener.call(process, signal);
}
