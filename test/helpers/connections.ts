import { afterEach } from 'vitest';
import { RawClient } from './client.js';

/**
 * A `connect()` for one test file: each client it opens is terminated after the test that opened it.
 * `defaultUrl` is read at call time, so it can name a relay started in beforeAll.
 */
export function trackConnections(defaultUrl: () => string): (url?: string) => Promise<RawClient> {
  const track = tracker();
  return async (url = defaultUrl()) => track(await RawClient.connect(url));
}

/** The same for virtual hosts: `connect(host)` sends that Host header to the relay at `url` (none: the default). */
export function trackHostConnections(url: () => string): (host?: string) => Promise<RawClient> {
  const track = tracker();
  return async (host) => track(await RawClient.connect(url(), host === undefined ? undefined : { host }));
}

/** Remembers each client it is given and terminates them all after the test. */
function tracker(): (client: RawClient) => RawClient {
  const opened: RawClient[] = [];
  afterEach(() => {
    for (const client of opened.splice(0)) client.socket.terminate();
  });
  return (client) => {
    opened.push(client);
    return client;
  };
}
