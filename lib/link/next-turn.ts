/**
 * `run` as a function that asks for it on the next turn of the event loop: however often it is
 * called within a turn, `run` runs once, after the I/O of that turn. The link connection uses it
 * to gather work that arrives one packet at a time (acknowledgements, received messages).
 */
export function onNextTurn(run: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      run();
    });
  };
}
