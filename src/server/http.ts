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

/** A POST on the relay URL as read off the wire (NIP-86), and what to answer. */
export interface PostRequest {
  /** The client's address: the TCP peer, or the one a trusted proxy names (src/server/client-ip.ts). */
  ip: string;
  contentType: string;
  authorization: string;
  host: string;
  path: string;
  body: Uint8Array;
}
export type PostHandler = (request: PostRequest) => Promise<{ status: number; body: string }>;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error',
};

function writeJson(res: HttpResponse, status: number, body: string): void {
  res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`.trim());
  for (const [name, value] of CORS_HEADERS) res.writeHeader(name, value);
  res.writeHeader('Content-Type', 'application/json').end(body);
}

/**
 * POST on the relay URL (NIP-86 management) from the client at `ip`: reads the body (at most `maxBytes`,
 * else 413), then answers with the handler's status and JSON. Headers are read before returning (uWS
 * invalidates `req`); the answer is written corked, and not at all when the client went away meanwhile.
 */
export function handlePost(res: HttpResponse, req: HttpRequest, handler: PostHandler, maxBytes: number, ip: string): void {
  const path = req.getUrl();
  if (path !== '/') return notFound(res);
  const head = {
    ip,
    contentType: req.getHeader('content-type'),
    authorization: req.getHeader('authorization'),
    host: req.getHeader('host'),
    path,
  };
  let aborted = false;
  let done = false;
  res.onAborted(() => {
    aborted = true;
  });
  const answer = (status: number, body: string): void => {
    if (aborted || done) return;
    done = true;
    res.cork(() => writeJson(res, status, body));
  };
  const declared = Number(req.getHeader('content-length') || '0');
  if (declared > maxBytes) {
    return answer(413, JSON.stringify({ result: null, error: `body too large: the limit is ${maxBytes} bytes` }));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    if (done) return;
    size += chunk.byteLength;
    if (size > maxBytes) return answer(413, JSON.stringify({ result: null, error: `body too large: the limit is ${maxBytes} bytes` }));
    chunks.push(Buffer.from(new Uint8Array(chunk).slice())); // uWS reuses the chunk's memory after this callback
    if (!isLast) return;
    handler({ ...head, body: Buffer.concat(chunks) }).then(
      ({ status, body }) => answer(status, body),
      () => answer(500, JSON.stringify({ result: null, error: 'internal error' })),
    );
  });
}
