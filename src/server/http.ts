import type { HttpRequest, HttpResponse } from 'uWebSockets.js';

export const CORS_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Headers', '*'],
  ['Access-Control-Allow-Methods', 'GET, POST, OPTIONS'],
];

export interface HttpPages {
  /** NIP-11 document, serialised. */
  information(): string;
  /** The human-readable page; `host` is the request's Host header. */
  page(host: string): string;
}

/** GET on the relay URL: NIP-11 for `Accept: application/nostr+json`, else the page. Other paths: 404. */
export function handleGet(res: HttpResponse, req: HttpRequest, pages: HttpPages): void {
  if (req.getUrl() !== '/') return notFound(res);
  if (req.getHeader('accept').includes('application/nostr+json')) {
    res.writeStatus('200 OK');
    for (const [name, value] of CORS_HEADERS) res.writeHeader(name, value);
    res.writeHeader('Content-Type', 'application/nostr+json').end(pages.information());
    return;
  }
  res.writeStatus('200 OK').writeHeader('Content-Type', 'text/html; charset=utf-8').end(pages.page(req.getHeader('host')));
}

/** CORS preflight for browser clients fetching NIP-11. */
export function handleOptions(res: HttpResponse): void {
  res.writeStatus('204 No Content');
  for (const [name, value] of CORS_HEADERS) res.writeHeader(name, value);
  res.writeHeader('Access-Control-Max-Age', '86400').end();
}

export function notFound(res: HttpResponse): void {
  res.writeStatus('404 Not Found').writeHeader('Content-Type', 'text/plain').end('Not found. The relay is at /.\n');
}
