/**
 * The home page in a real browser (Debian's chromium through playwright-core): the example configs
 * (community, geohash, public) at 390 px and 1280 px, light and dark, each checked for its policy in
 * plain words, no sideways scrolling and no serious axe-core violation, and saved as a screenshot in
 * test-output/screenshots/; the live numbers and the chart moving after an event is published, with the
 * page's Content-Security-Policy in force; the copy button; one page per virtual host.
 *
 * Skipped only where /usr/bin/chromium is missing on a developer's machine; under CI (.ci/run installs
 * chromium) a missing browser fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { DESKTOP, hasChromium, launchBrowser, overflowsSideways, PHONE, screenshot, seriousViolations } from '../helpers/browser.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';

const EXAMPLES = ['community', 'geohash', 'public'] as const;
type Example = (typeof EXAMPLES)[number];
const VIRTUAL_HOSTS = ['u3but.relay.example', 'skagen.relay.example'];

/** Sentences each example's page must show, generated from its config. */
const POLICY_TEXT: Record<Example, string[]> = {
  community: [
    'Only members may post here.',
    'How to join: ask a member for an invite at https://example.org/join.',
    'Anyone may publish relay lists (10002) and DM relay lists (10050) here.',
    'Anyone may send NIP-04 direct messages (4), gift wraps (1059) and NIP-17 chat messages (14) to a member',
    'NIP-04 direct messages (4) and gift wraps (1059, 1060) go only to their author and the people they name, after signing in.',
  ],
  geohash: [
    'This relay serves one place: the geohash cell u3but, drawn below.',
    'except BitChat geo-chat (20000), which must say where they are.',
    'BitChat geo-chat (20000): kept 5 minutes after arrival',
    'Every other kind: deleted 1 year after they were written.',
  ],
  public: [
    'Anyone may post here.',
    'From one address: at most 50 events per 10 s.',
    'Reactions (7): deleted 90 days after they were written.',
    'Every other kind: deleted 1 year after they were written; at most 20000 per author, the oldest deleted first.',
  ],
};

const required = process.env.CI === 'true';
const configFile = (name: string): string => fileURLToPath(new URL(`../../config/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'commons-page-'));
const relays = new Map<string, RunningRelay>();
let browser: Browser;

/** An example config as an operator would run it, on port 0 with databases in a temporary directory. */
async function start(name: string): Promise<RunningRelay> {
  const loaded = loadConfig(configFile(`${name}.yaml`), { port: 0, db: join(dir, `${name}.sqlite`), host: '127.0.0.1' }, {});
  const hosts = loaded.hosts.map((host, i) => ({
    ...host,
    config: { ...host.config, storage: { ...host.config.storage, path: join(dir, `${name}-${i}.sqlite`) } },
  }));
  const config: Config = { ...loaded, hosts };
  const running = await startRelay(config, { logger: pino({ level: 'silent' }) });
  relays.set(name, running);
  return running;
}

const pageUrl = (name: string, host = '127.0.0.1'): string => `http://${host}:${relays.get(name)!.port}/`;

/** Waits until `text` is shown on the page (a state, not a time). */
const shows = (page: Page, text: string): Promise<void> =>
  page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: 10_000 });

/** Opens the page and waits for the chart's first data. */
async function open(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('#chart[data-minutes] canvas', { timeout: 15_000 });
  return page;
}

if (!hasChromium && !required)
  console.warn('test/e2e/page.browser.test.ts skipped: /usr/bin/chromium is missing (apt-get install -y chromium)');
if (!hasChromium && required) {
  describe('the home page in a real browser', () => {
    it('needs /usr/bin/chromium under CI (.ci/run installs it with apt-get)', () => {
      expect(hasChromium, '/usr/bin/chromium').toBe(true);
    });
  });
}

describe.skipIf(!hasChromium)(
  `the home page in Chromium${hasChromium ? '' : ' (skipped: /usr/bin/chromium is missing; apt-get install -y chromium)'}`,
  () => {
    beforeAll(async () => {
      await Promise.all([...EXAMPLES, 'geohash-multi'].map(start));
      browser = await launchBrowser(VIRTUAL_HOSTS);
    });
    afterAll(async () => {
      await browser?.close();
      await Promise.all([...relays.values()].map((relay) => relay.stop()));
      rmSync(dir, { recursive: true, force: true });
    });

    for (const example of EXAMPLES) {
      for (const [size, viewport] of [
        ['phone', PHONE],
        ['desktop', DESKTOP],
      ] as const) {
        it(`${example}, ${size} (${viewport.width} px), light and dark: the policy in words, no sideways scrolling, no serious axe violation`, async () => {
          for (const colorScheme of ['light', 'dark'] as const) {
            // axe-core is injected as a script, which the page's Content-Security-Policy would refuse.
            const context = await browser.newContext({ viewport, colorScheme, bypassCSP: true });
            try {
              const page = await open(context, pageUrl(example));
              for (const text of POLICY_TEXT[example]) await shows(page, text);
              if (example === 'geohash') expect(await page.locator('svg.area rect.area-cell').count()).toBe(1);
              if (example === 'community') await page.getByRole('link', { name: 'https://example.org/join' }).waitFor();
              expect(await overflowsSideways(page), 'wider than the screen').toBe(false);
              expect(await seriousViolations(page)).toEqual([]);
              await screenshot(page, `${example}-${viewport.width}-${colorScheme}`);
            } finally {
              await context.close();
            }
          }
        });
      }
    }

    it('an event published: the counters and the chart move without a reload, under the page’s own Content-Security-Policy', async () => {
      const context = await browser.newContext({ viewport: DESKTOP });
      const problems: string[] = [];
      try {
        const page = await open(context, pageUrl('public'));
        page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
        page.on('pageerror', (error) => problems.push(error.message));
        const number = (id: string): Promise<number> => page.locator(`#${id}`).textContent().then(Number);
        const before = { stored: await number('events-stored'), today: await number('events-today') };
        const chartBefore = Number(await page.locator('#chart').getAttribute('data-events'));

        const client = await RawClient.connect(relays.get('public')!.localUrl);
        try {
          const event = signed(newKeys(), { content: 'seen on the page' });
          expect(await client.publish(event)).toEqual(['OK', event.id, true, expect.any(String)]);
          await page.waitForFunction(
            ([stored, chart]) =>
              Number(document.getElementById('events-stored')?.textContent) > stored! &&
              Number(document.getElementById('chart')?.dataset.events) > chart! &&
              Number(document.getElementById('connections')?.textContent) >= 1,
            [before.stored, chartBefore],
            { timeout: 20_000 },
          );
        } finally {
          client.socket.terminate();
        }
        expect(await number('events-today')).toBe(before.today + 1);
        await screenshot(page, 'public-1280-live');
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    });

    it('the copy button puts the address on the clipboard', async () => {
      const context = await browser.newContext({ viewport: PHONE });
      try {
        const url = pageUrl('community');
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url.slice(0, -1) });
        const page = await open(context, url);
        await page.getByRole('button', { name: 'Copy' }).click();
        await shows(page, 'Copied.');
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(relays.get('community')!.localUrl);
        const favicon = await page.locator('link[rel=icon]').getAttribute('href');
        const answer = await page.request.get(new URL(favicon!, url).href);
        expect(answer.status()).toBe(200);
        expect(answer.headers()['content-type']).toBe('image/svg+xml');
      } finally {
        await context.close();
      }
    });

    it('hosts: each virtual host has its own page (name, address, area)', async () => {
      const context = await browser.newContext({ viewport: DESKTOP });
      try {
        for (const [host, name, cell] of [
          ['u3but.relay.example', 'Vesterbro', 'u3but'],
          ['skagen.relay.example', 'Skagen', 'u4pru'],
        ] as const) {
          const page = await open(context, pageUrl('geohash-multi', host));
          expect(await page.locator('h1').textContent()).toBe(name);
          expect(await page.locator('#address').textContent()).toBe(`wss://${cell}.relay.example`);
          await shows(page, `This relay serves one place: the geohash cell ${cell}, drawn below.`);
          if (cell === 'u4pru') await shows(page, 'BitChat geo-chat (20000): kept 1 hour after arrival');
          await screenshot(page, `hosts-${cell}-1280-light`);
        }
        const fallback = await open(context, pageUrl('geohash-multi'));
        expect(await fallback.locator('h1').textContent()).toBe('commons places');
        await shows(fallback, 'BitChat geo-chat (20000) must say where they are (a g tag).');
      } finally {
        await context.close();
      }
    });
  },
);
