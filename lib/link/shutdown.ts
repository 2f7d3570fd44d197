/**
 * Node-RED answers SIGTERM/SIGINT by stopping its flows at once; from then on a message cannot
 * travel from one node to the next. A replica must first stop taking link messages and finish the
 * ones the broker already gave it (a shared subscription never hands those to another replica), so
 * the signal reaches Node-RED's own handlers only after the link connection has drained (bounded).
 * A second signal during the drain passes straight through, so an operator can still force a stop.
 */
const SIGNALS = new Set(['SIGTERM', 'SIGINT']);

let drainers: Array<() => Promise<void>> = [];
let installed = false;
let draining = false;

/** Runs `drain` before Node-RED sees a stop signal. Returns a function that unregisters it. */
export function drainBeforeStop(drain: () => Promise<void>): () => void {
  drainers.push(drain);
  if (!installed) install();
  return () => { drainers = drainers.filter((d) => d !== drain); };
}

function install(): void {
  installed = true;
  const emit = process.emit as (this: NodeJS.Process, event: string | symbol, ...args: unknown[]) => boolean;
  const patched = function patchedEmit(this: NodeJS.Process, event: string | symbol, ...args: unknown[]): boolean {
    if (typeof event === 'string' && SIGNALS.has(event) && !draining && drainers.length) {
      draining = true;
      void Promise.allSettled(drainers.map((d) => d())).finally(() => emit.call(process, event, ...args));
      return true;
    }
    return emit.call(this, event, ...args);
  };
  process.emit = patched as typeof process.emit;
}
