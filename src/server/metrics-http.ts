/**
 * The metrics listener (metrics.enabled): a node:http server of its own on metrics.listen, apart from
 * the relay's port, so that the scrape endpoint stays off the public address whichever WebSocket server
 * runs. It answers `GET /metrics` and nothing else.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LISTEN_EXAMPLE, listenAddressOf, type ListenAddress } from '../net/listen.js';
import type { MetricsProcess, MetricsSite } from './metrics.js';

export interface MetricsListener {
  /** The port it listens on (the one picked when metrics.listen gives port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Serves GET /metrics for `sites` on `listen` (metrics.listen); prom-client is loaded here, not before. */
export async function startMetrics(listen: string, sites: readonly MetricsSite[], process: MetricsProcess): Promise<MetricsListener> {
  const address = listenAddressOf(listen);
  if (address === undefined) throw new Error(`metrics.listen: expected ${LISTEN_EXAMPLE}, got ${JSON.stringify(listen)}`);
  const { metricsRegistry, CONTENT_TYPE } = await import('./metrics.js');
  const registry = metricsRegistry(sites, process);
  return listenForMetrics(address, () => registry.metrics(), CONTENT_TYPE);
}

/** Listens on `address`; `GET /metrics` is answered with `render()` as `contentType`. */
export async function listenForMetrics(
  address: ListenAddress,
  render: () => Promise<string>,
  contentType: string,
): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found. Metrics are at /metrics.\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('Only GET.\n');
      return;
    }
    render().then(
      (text) => response.writeHead(200, { 'Content-Type': contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) =>
        response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`error: could not collect the metrics: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void =>
      reject(new Error(`metrics.listen: cannot listen on ${address.host}:${address.port}: ${error.message}`, { cause: error }));
    server.once('error', failed);
    server.listen(address.port, address.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
