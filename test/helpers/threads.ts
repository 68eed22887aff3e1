/**
 * server.threads in end-to-end tests: which connection thread took a connection (the thread whose row of
 * the shared connection counters went up), and connections until every thread has some.
 */
import { RawClient } from './client.js';
import type { TestRelay } from './relay.js';
import { waitFor } from './wait.js';

/** Bound on the connections opened to find one on each thread (all on one thread: 2^-63). */
const MAX_TRIES = 64;

export interface Placed {
  client: RawClient;
  thread: number;
}

/** Opens one connection, added to `opened` (for the test to close), and tells which thread took it. */
export async function openPlaced(target: TestRelay, opened: RawClient[]): Promise<Placed> {
  const counters = target.relay.counters;
  const before = counters.byThread('connections');
  const client = await RawClient.connect(target.url);
  client.socket.on('error', () => {});
  opened.push(client);
  let thread = -1;
  await waitFor(() => {
    const after = counters.byThread('connections');
    thread = after.findIndex((count, i) => count > before[i]!);
    return thread >= 0;
  }, 'the new connection counted by a thread');
  return { client, thread };
}

/** Connections until every thread has at least `each`; returns them by thread. */
export async function openOnEveryThread(target: TestRelay, opened: RawClient[], each = 1): Promise<RawClient[][]> {
  const byThread: RawClient[][] = Array.from({ length: target.threads }, () => []);
  for (let tries = 0; byThread.some((clients) => clients.length < each); tries++) {
    if (tries >= MAX_TRIES) throw new Error(`no connection on some thread after ${MAX_TRIES}: ${byThread.map((c) => c.length)}`);
    const { client, thread } = await openPlaced(target, opened);
    byThread[thread]!.push(client);
  }
  return byThread;
}
