/**
 * The home page over real HTTP (the browser's view is test/e2e/page.browser.test.ts): who runs the relay
 * from info:, escaped; the static files with their content types and caching; GET /stats.json; one page
 * and one set of numbers per virtual host (hosts:).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';

const operator = newKeys();
const relayKey = newKeys();
const dir = mkdtempSync(join(tmpdir(), 'commons-page-http-'));
let relay: RunningRelay;
/** The relay's millisecond clock: /stats.json is rebuilt at most once a second of it. */
let clockMs = Date.now();

const YAML = `
relay: { host: 127.0.0.1, port: 0 }
info:
  name: "Fish & <Chips>"
  description: "Café relay — see https://example.org/about."
  pubkey: ${operator.pubkey}
  self: ${relayKey.pubkey}
  contact: mailto:ops@example.org
  icon: https://example.org/icon.png
  banner: https://example.org/banner.png
  terms_of_service: https://example.org/terms
  payments_url: https://example.org/pay
  fees: { admission: [{ amount: 21000, unit: sats }], subscription: [{ amount: 5000, unit: sats, period: 30d }] }
storage: { path: ${join(dir, 'default.sqlite')} }
hosts:
  - names: [u3but.example]
    relay: { url: wss://u3but.example }
    info: { name: Vesterbro }
    storage: { path: ${join(dir, 'u3but.sqlite')} }
    scopes: { geohash: { prefixes: [u3but], require_for_kinds: [20000] } }
`;

beforeAll(async () => {
  relay = await startRelay(parseConfig(YAML, 'page.yaml'), { logger: pino({ level: 'silent' }), nowMs: () => clockMs });
});
afterAll(async () => {
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET `path` with a Host header (Node's fetch does not let a caller set Host). */
function get(path: string, host = `127.0.0.1:${relay.port}`): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: relay.port, path, headers: { host, accept: 'text/html' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const assetPaths = (html: string): string[] => [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);

describe('the page', () => {
  it('says who runs the relay, from info:, every configured string escaped', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.body).toContain('<h1>Fish &amp; &lt;Chips&gt;</h1>');
    expect(page.body).not.toContain('<Chips>');
    expect(page.body).toContain('Café relay — see <a href="https://example.org/about">https://example.org/about</a>.');
    expect(page.body).toContain('<img class="banner" src="https://example.org/banner.png" alt="">');
    expect(page.body).toContain('src="https://example.org/icon.png"');
    expect(page.body).toContain(`href="nostr:${npubEncode(operator.pubkey)}"`);
    expect(page.body).toContain(`href="nostr:${npubEncode(relayKey.pubkey)}"`);
    expect(page.body).toContain('<a href="mailto:ops@example.org">ops@example.org</a>');
    expect(page.body).toContain('href="https://example.org/terms"');
    expect(page.body).toContain('21000 sats');
    expect(page.body).toContain('5000 sats every 30 days');
    expect(page.body).toContain('href="https://example.org/pay"');
    for (const app of ['Damus', 'Amethyst', 'Primal', 'Coracle', 'Jumble']) expect(page.body).toContain(`<strong>${app}</strong>`);
  });

  it('serves its static files from the relay: content type, a year of caching, uPlot as npm ships it', async () => {
    const paths = assetPaths((await get('/')).body);
    expect(paths.map((path) => path.replace(/\.[0-9a-f]{12}\./, '.'))).toEqual([
      '/assets/favicon.svg',
      '/assets/uplot.css',
      '/assets/page.css',
      '/assets/uplot.js',
      '/assets/page.js',
    ]);
    const types = { svg: 'image/svg+xml', css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' };
    for (const path of paths) {
      const answer = await get(path);
      expect(answer.status, path).toBe(200);
      expect(answer.headers['content-type'], path).toBe(types[path.split('.').pop() as keyof typeof types]);
      expect(answer.headers['cache-control'], path).toBe('public, max-age=31536000, immutable');
    }
    const uplot = readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    expect((await get(paths.find((path) => path.includes('uplot') && path.endsWith('.js'))!)).body).toBe(uplot);
    expect((await get('/assets/page.000000000000.js')).status).toBe(404);
    expect((await get('/assets/')).status).toBe(404);
  });

  it('GET /stats.json: the live numbers, not cached, readable from other origins', async () => {
    const answer = await get('/stats.json');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['access-control-allow-origin']).toBe('*');
    const stats = JSON.parse(answer.body);
    expect(Object.keys(stats)).toEqual(['events_stored', 'events_today', 'connections', 'subscriptions', 'uptime_seconds', 'history']);
    expect(stats.history.step).toBe(60);
    expect(stats.history.events.length).toBe(stats.history.connections.length);
  });

  it('hosts: each virtual host has its own page and its own numbers', async () => {
    const host = await get('/', 'u3but.example');
    expect(host.body).toContain('<h1>Vesterbro</h1>');
    expect(host.body).toContain('<code id="address">wss://u3but.example</code>');
    expect(host.body).toContain('This relay serves one place: the geohash cell u3but, drawn below.');
    expect(host.body).toContain('<svg class="area"');
    expect((await get('/')).body).not.toContain('<svg class="area"');

    const client = await RawClient.connect(relay.localUrl, { host: 'u3but.example' });
    try {
      const event = signed(newKeys(), { kind: 20000, content: 'hej', tags: [['g', 'u3butz']] });
      expect(await client.publish(event)).toEqual(['OK', event.id, true, expect.any(String)]);
      const stats = (hostName: string) => get('/stats.json', hostName).then((answer) => JSON.parse(answer.body));
      // Ephemeral: stored only under a keep rule, which this host has not; the connection is the host's.
      expect(await stats('u3but.example')).toMatchObject({ connections: 1, events_stored: 0 });
      expect(await stats(`127.0.0.1:${relay.port}`)).toMatchObject({ connections: 0 });
      const note = signed(newKeys(), { content: 'a note in Vesterbro' });
      expect(await client.publish(note)).toEqual(['OK', note.id, true, expect.any(String)]);
      clockMs += 1000;
      expect(await stats('u3but.example')).toMatchObject({ events_stored: 1, events_today: 1 });
      expect(await stats(`127.0.0.1:${relay.port}`)).toMatchObject({ events_stored: 0, events_today: 0 });
    } finally {
      client.socket.terminate();
    }
  });
});
