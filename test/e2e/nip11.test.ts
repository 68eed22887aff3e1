/**
 * NIP-11 relay information document (and the HTML page) end to end, over real HTTP.
 * Items 1–4 of /work/shared/NIPS-CHECKLIST.md ("NIP-11").
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { WAIT_LIMIT_MS } from '../helpers/wait.js';

const NAME = 'commons e2e relay';
const DESCRIPTION = 'A relay started by test/e2e/nip11.test.ts';
/** Non-default limits, so values copied from defaults instead of the config would show. */
const LIMITS = {
  max_message_bytes: 65_432,
  max_subscriptions: 7,
  max_filters: 4,
  max_limit: 321,
  default_limit: 42,
  max_subid_length: 50,
  max_event_tags: 123,
  max_content_length: 4_321,
};

let relay: TestRelay;
/** The default configuration. */
let plain: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({ info: { name: NAME, description: DESCRIPTION }, limits: LIMITS });
  plain = await startTestRelay();
});

afterAll(async () => {
  await relay?.cleanup();
  await plain?.cleanup();
});

const opened: RawClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
});

const httpUrl = (wsUrl: string, path = '/'): string => `${wsUrl.replace(/^ws/, 'http').replace(/\/$/, '')}${path}`;

const get = (wsUrl: string, path = '/', headers: Record<string, string> = {}): Promise<Response> =>
  fetch(httpUrl(wsUrl, path), { headers, signal: AbortSignal.timeout(WAIT_LIMIT_MS) });

const getInfo = (wsUrl: string): Promise<Response> => get(wsUrl, '/', { Accept: 'application/nostr+json' });

function expectCors(response: Response): void {
  expect(response.headers.get('access-control-allow-origin')).toBe('*');
  expect(response.headers.get('access-control-allow-headers')).toBeTruthy();
  const methods = response.headers.get('access-control-allow-methods') ?? '';
  expect(methods).toMatch(/\bGET\b/);
}

/** The number shown next to a label on the HTML page (e.g. "Events stored"). */
function counter(html: string, label: string): number {
  const match = new RegExp(`${label}\\D*?(\\d+)`).exec(html.replace(/<[^>]*>/g, ' '));
  expect(match, `"${label}" with a number on the page`).not.toBeNull();
  return Number(match![1]);
}

describe('NIP-11', () => {
  it('1–2: GET with Accept: application/nostr+json → 200 JSON with CORS headers', async () => {
    const response = await getInfo(relay.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/nostr\+json\b/);
    expectCors(response);
    const info = (await response.json()) as Record<string, unknown>;
    expect(typeof info).toBe('object');
    expect(info.name).toBe(NAME);
    expect(info.description).toBe(DESCRIPTION);

    // Accept lists with several types (as browsers and some clients send) also get the document.
    const listed = await get(relay.url, '/', { Accept: 'application/nostr+json, application/json;q=0.9' });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('content-type')).toMatch(/^application\/nostr\+json\b/);
  });

  it('3: supported_nips is [1, 9, 11, 40, 42, 45, 50, 62, 65, 70, 77] for the default config; software is a URL; pubkey/self 64-hex when present', async () => {
    const info = (await (await getInfo(plain.url)).json()) as Record<string, unknown>;
    expect(info.supported_nips).toEqual([1, 9, 11, 40, 42, 45, 50, 62, 65, 70, 77]);
    expect((info.supported_nips as unknown[]).every((n) => Number.isInteger(n))).toBe(true);
    expect(typeof info.software).toBe('string');
    expect(() => new URL(info.software as string)).not.toThrow();
    expect(new URL(info.software as string).protocol).toMatch(/^https?:$/);
    for (const key of ['pubkey', 'self']) {
      if (info[key] !== undefined) expect(info[key], key).toMatch(/^[0-9a-f]{64}$/);
    }
    if (info.version !== undefined) expect(typeof info.version).toBe('string');
    expect(info.name).toBe(plain.config.info.name);
    expect(info.description).toBe(plain.config.info.description);
  });

  it('4: limitation fields equal the configured limits', async () => {
    const info = (await (await getInfo(relay.url)).json()) as { limitation?: Record<string, unknown> };
    expect(info.limitation).toBeDefined();
    expect(info.limitation).toMatchObject({
      max_message_length: LIMITS.max_message_bytes,
      max_subscriptions: LIMITS.max_subscriptions,
      max_limit: LIMITS.max_limit,
      default_limit: LIMITS.default_limit,
      max_subid_length: LIMITS.max_subid_length,
      max_event_tags: LIMITS.max_event_tags,
      max_content_length: LIMITS.max_content_length,
      created_at_upper_limit: 900,
    });
    if (info.limitation!.max_filters !== undefined) expect(info.limitation!.max_filters).toBe(LIMITS.max_filters);
    // Default config: the schema defaults.
    const defaults = ((await (await getInfo(plain.url)).json()) as { limitation: Record<string, unknown> }).limitation;
    const limits = plain.config.limits;
    expect(defaults).toMatchObject({
      max_message_length: limits.max_message_bytes,
      max_subscriptions: limits.max_subscriptions,
      max_limit: limits.max_limit,
      default_limit: limits.max_limit, // default_limit unset (null) = max_limit: the value served, not null
      max_subid_length: limits.max_subid_length,
      max_event_tags: limits.max_event_tags,
      max_content_length: limits.max_content_length,
      created_at_upper_limit: 900,
    });
    expect(defaults.created_at_lower_limit).toBeUndefined();
  });

  it('operator fields of the current NIP-11 text when configured (self, payments_url, fees); none of the removed ones', async () => {
    const operator = newKeys();
    const own = newKeys();
    const configured = await startTestRelay({
      info: {
        pubkey: operator.pubkey,
        self: own.pubkey,
        contact: 'mailto:ops@example.org',
        icon: 'https://example.org/icon.png',
        banner: 'https://example.org/banner.png',
        terms_of_service: 'https://example.org/terms',
        payments_url: 'https://example.org/pay',
        fees: { admission: [{ amount: 21000, unit: 'sats' }], subscription: [], publication: [{ kinds: [4], amount: 100, unit: 'msats' }] },
      },
      // Kept on the page in plain words; NIP-11 no longer has a retention field.
      retention: [{ kinds: ['*'], max_age: 86400 }],
    });
    try {
      const info = (await (await getInfo(configured.url)).json()) as Record<string, unknown>;
      expect(info).toMatchObject({
        pubkey: operator.pubkey,
        self: own.pubkey,
        contact: 'mailto:ops@example.org',
        icon: 'https://example.org/icon.png',
        banner: 'https://example.org/banner.png',
        terms_of_service: 'https://example.org/terms',
        payments_url: 'https://example.org/pay',
        fees: { admission: [{ amount: 21000, unit: 'sats' }], publication: [{ kinds: [4], amount: 100, unit: 'msats' }] },
      });
      for (const removed of ['retention', 'relay_countries', 'language_tags', 'tags', 'posting_policy'])
        expect(info, removed).not.toHaveProperty(removed);
      const current = ['name', 'description', 'banner', 'icon', 'pubkey', 'self', 'contact', 'supported_nips', 'software', 'version'];
      const extra = ['terms_of_service', 'limitation', 'payments_url', 'fees'];
      expect(Object.keys(info).filter((key) => !current.includes(key) && !extra.includes(key))).toEqual([]);
      // The default config publishes none of the optional operator fields.
      const plainInfo = (await (await getInfo(plain.url)).json()) as Record<string, unknown>;
      expect(Object.keys(plainInfo).sort()).toEqual(['description', 'limitation', 'name', 'software', 'supported_nips', 'version']);
    } finally {
      await configured.cleanup();
    }
  });

  it('2: OPTIONS preflight → 2xx with the CORS headers', async () => {
    const response = await fetch(httpUrl(relay.url), {
      method: 'OPTIONS',
      headers: { Origin: 'https://example.org', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'accept' },
      signal: AbortSignal.timeout(WAIT_LIMIT_MS),
    });
    expect(response.status).toBeGreaterThanOrEqual(200);
    expect(response.status).toBeLessThan(300);
    expectCors(response);
  });

  it('1: plain GET (no nostr Accept) → HTML page with the name, the ws URL and live counters', async () => {
    const first = await get(relay.url, '/', { Accept: 'text/html' });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/html\b/);
    const before = await first.text();
    expect(before).toContain(NAME);
    expect(before).toContain(relay.url);
    const storedBefore = counter(before, 'Events stored');
    const connectionsBefore = counter(before, 'Open connections');

    const client = await RawClient.connect(relay.url);
    opened.push(client);
    const keys = newKeys();
    for (const event of [signed(keys, { content: 'one' }), signed(keys, { content: 'two' })]) {
      expect(await client.publish(event)).toEqual(['OK', event.id, true, expect.any(String)]);
    }

    // Both live: the stored count moves with the relay's own counter, without counting the table again.
    const after = await (await get(relay.url)).text();
    expect(counter(after, 'Open connections')).toBe(connectionsBefore + 1);
    expect(counter(after, 'Events stored')).toBe(storedBefore + 2);
  });

  it('the page lists the NIPs that supported_nips advertises, in order', async () => {
    const { supported_nips: advertised } = (await (await getInfo(plain.url)).json()) as { supported_nips: number[] };
    const page = await (await get(plain.url)).text();
    const listed = [...page.matchAll(/>NIP-(\d+)</g)].map((match) => Number(match[1]));
    expect(listed).toEqual(advertised);
  });

  it('GET on another path → 404', async () => {
    expect((await get(relay.url, '/nope')).status).toBe(404);
    expect((await get(relay.url, '/nope', { Accept: 'application/nostr+json' })).status).toBe(404);
  });
});
