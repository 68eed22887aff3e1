import { afterEach } from 'vitest';
import { RawClient } from './client.js';

/**
 * A `connect()` for one test file: each client it opens is terminated after the test that opened it.
 * `defaultUrl` is read at call time, so it can name a relay started in beforeAll.
 */
export function trackConnections(defaultUrl: () => string): (url?: string) => Promise<RawClient> {
  const opened: RawClient[] = [];
  afterEach(() => {
    for (const client of opened.splice(0)) client.socket.terminate();
  });
  return async (url = defaultUrl()) => {
    const client = await RawClient.connect(url);
    opened.push(client);
    return client;
  };
}
