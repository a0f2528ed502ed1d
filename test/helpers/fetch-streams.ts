/** Stream helpers for the Fetch and Node-listener adapter tests. */

/** A web ReadableStream fed by an async generator of strings. */
export function streamOf(source: () => AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const iterator = source();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const step = await iterator.next();
      if (step.done) controller.close();
      else controller.enqueue(encoder.encode(step.value));
    },
  });
}

/**
 * Without a condition: lets pending promise callbacks and I/O callbacks run until things stop
 * moving (a fixed number of event-loop turns, no timers). With one: polls it for up to 5 s.
 */
export async function settle(condition?: () => boolean): Promise<void> {
  if (!condition) {
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    return;
  }
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
