/**
 * The async iterator behind every subscription: `take` returns what is ready (or null: wait for
 * the next wake-up, or throws to end the subscription with that error); `subscribe` registers the
 * wake-up and returns its removal, which runs when the client goes away.
 */
export function pullIterator<T>(subscribe: (wake: () => void) => () => void, take: () => T | null): AsyncIterableIterator<T> {
  let done = false;
  let waiting: (() => void) | null = null;
  const wake = () => {
    waiting?.();
    waiting = null;
  };
  const unsubscribe = subscribe(wake);
  const finish = (): IteratorResult<T> => {
    if (!done) {
      done = true;
      unsubscribe();
      wake();
    }
    return { done: true, value: undefined };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (done) return { done: true, value: undefined };
        let value: T | null;
        try {
          value = take();
        } catch (err) {
          finish();
          throw err;
        }
        if (value !== null) return { done: false, value };
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
    async return(): Promise<IteratorResult<T>> {
      return finish();
    },
  };
}
