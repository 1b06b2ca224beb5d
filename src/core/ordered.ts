// Runs an async function over a source with up to `concurrency` calls at once and yields results in source
// order. Pulls at most `concurrency` items ahead, so a slow consumer stops the source.
export async function* mapOrdered<T, R>(source: AsyncIterable<T>, concurrency: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const it = source[Symbol.asyncIterator]();
  const inFlight: Promise<R>[] = [];
  let done = false;
  try {
    for (;;) {
      while (!done && inFlight.length < concurrency) {
        const r = await it.next();
        if (r.done) done = true;
        else {
          const p = fn(r.value);
          p.catch(() => {}); // observed when awaited below; avoids an unhandled rejection meanwhile
          inFlight.push(p);
        }
      }
      if (inFlight.length === 0) return;
      yield await inFlight.shift()!;
    }
  } finally {
    await Promise.allSettled(inFlight);
    await it.return?.(undefined);
  }
}
