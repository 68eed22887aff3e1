/**
 * Waiting for a state instead of for time. Each wait ends as soon as its state holds; the limit only
 * turns a hang into an error that says what was awaited. It sits below vitest's 30 s test timeout, so a
 * hang fails with that message rather than a bare "timed out"; a loaded machine only makes a wait longer.
 */
export const WAIT_LIMIT_MS = 25_000;

/** Resolves once `condition()` holds (checked at once, then every 10 ms). */
export async function waitFor(condition: () => boolean, what: string, limitMs = WAIT_LIMIT_MS): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `promise`, or an error naming `what` if it has not settled within the limit. */
export function within<T>(promise: Promise<T>, what: string, limitMs = WAIT_LIMIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${limitMs} ms`)), limitMs)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
