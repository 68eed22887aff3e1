import type { RpcHttpRequest } from '../relay/management.js';
import type { BodyReader, HttpAnswer, RequestHead } from './transport.js';

export const CORS_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Headers', '*'],
  ['Access-Control-Allow-Methods', 'GET, POST, OPTIONS'],
];

/** A static file of the page (its script, style sheet, favicon, chart library). */
export interface StaticFile {
  readonly contentType: string;
  readonly body: string;
}

export interface HttpPages {
  /** NIP-11 document, serialised. */
  information(): string;
  /** The human-readable page; `host` is the request's Host header. */
  page(host: string): string;
  /** The page's live numbers, JSON (GET /stats.json). */
  stats(): string;
  /** The static file served at `path` (under /assets/), if any. */
  asset(path: string): StaticFile | undefined;
}

export const STATS_PATH = '/stats.json';
const ASSETS = '/assets/';

/**
 * The page runs only its own script and style sheets, talks only to the relay, and may show the
 * operator's icon and banner from anywhere.
 */
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Type', 'text/html; charset=utf-8'],
  ['Cache-Control', 'no-cache'],
  ['Content-Security-Policy', PAGE_POLICY],
  ['X-Content-Type-Options', 'nosniff'],
];

/**
 * GET on the relay URL: NIP-11 for `Accept: application/nostr+json`, else the page. GET /stats.json: the
 * page's live numbers; GET /assets/…: its static files, named by their content, so cached for a year.
 * Other paths: 404.
 */
export function answerGet(head: RequestHead, pages: HttpPages): HttpAnswer {
  const path = head.url.split('?')[0]!;
  if (path === STATS_PATH) {
    return {
      status: 200,
      headers: [...CORS_HEADERS, ['Content-Type', 'application/json'], ['Cache-Control', 'no-store']],
      body: pages.stats(),
    };
  }
  if (path.startsWith(ASSETS)) {
    const file = pages.asset(path);
    if (file === undefined) return notFound();
    const caching = ['Cache-Control', 'public, max-age=31536000, immutable'] as const;
    return { status: 200, headers: [['Content-Type', file.contentType], caching, ['X-Content-Type-Options', 'nosniff']], body: file.body };
  }
  if (head.url !== '/') return notFound();
  if (head.header('accept').includes('application/nostr+json')) {
    return { status: 200, headers: [...CORS_HEADERS, ['Content-Type', 'application/nostr+json']], body: pages.information() };
  }
  return { status: 200, headers: PAGE_HEADERS, body: pages.page(head.header('host')) };
}

/** CORS preflight for browser clients fetching NIP-11. */
export function answerOptions(): HttpAnswer {
  return { status: 204, headers: [...CORS_HEADERS, ['Access-Control-Max-Age', '86400']], body: '' };
}

export function notFound(): HttpAnswer {
  return { status: 404, headers: [['Content-Type', 'text/plain']], body: 'Not found. The relay is at /.\n' };
}

export function plainText(status: number, body: string): HttpAnswer {
  return { status, headers: [['Content-Type', 'text/plain']], body };
}

/** A POST on the relay URL (NIP-86): the request as the engine reads it, and its answer. */
export type PostHandler = (request: RpcHttpRequest) => Promise<{ status: number; body: string }>;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

/** The status line's text after the code ("404 Not Found"). */
export const statusLine = (status: number): string => `${status} ${STATUS_TEXT[status] ?? ''}`.trim();

const json = (status: number, body: string): HttpAnswer => ({
  status,
  headers: [...CORS_HEADERS, ['Content-Type', 'application/json']],
  body,
});

/**
 * POST on the relay URL (NIP-86 management) from the client at `ip`: the body (at most `maxBytes`, else
 * 413) goes to the handler, whose status and JSON are the answer.
 */
export function answerPost(head: RequestHead, handler: PostHandler, maxBytes: number, ip: string): HttpAnswer | BodyReader {
  if (head.url !== '/') return notFound();
  const tooLarge = json(413, JSON.stringify({ result: null, error: `body too large: the limit is ${maxBytes} bytes` }));
  if (Number(head.header('content-length') || '0') > maxBytes) return tooLarge;
  const request = {
    ip,
    contentType: head.header('content-type'),
    authorization: head.header('authorization'),
    host: head.header('host'),
    path: head.url,
  };
  return {
    maxBytes,
    tooLarge,
    answer: (body) =>
      handler({ ...request, body }).then(
        ({ status, body: text }) => json(status, text),
        () => json(500, JSON.stringify({ result: null, error: 'internal error' })),
      ),
  };
}
