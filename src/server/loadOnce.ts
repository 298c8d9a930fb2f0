/**
 * Starts `load` for a key once and hands every caller the same promise, so concurrent first
 * requests for a series or event log share one Redis read; a failed load is forgotten so the
 * next caller retries.
 */
export function loadOnce<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (value === undefined) {
    value = load();
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}
