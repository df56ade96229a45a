/**
 * Runs a long job (a trace loading, a run replayed to fork it) a slice at a time, giving the browser back
 * between slices, so that the page keeps drawing and answering while it works.
 */

/** Yields to the browser: a message to ourselves runs after pending input and rendering, without setTimeout's clamp. */
function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/**
 * Steps `job` for about `sliceMs` at a time (the page still draws some 30 frames a second meanwhile);
 * `progress` sees the last value it yielded in each slice.
 */
export async function runInSlices<T, R>(
  job: Generator<T, R>,
  progress: (value: T) => void = () => {},
  sliceMs = 25,
): Promise<R> {
  for (;;) {
    const deadline = performance.now() + sliceMs;
    let next = job.next();
    while (!next.done && performance.now() < deadline) next = job.next();
    if (next.done) return next.value;
    progress(next.value);
    await yieldToBrowser();
  }
}
