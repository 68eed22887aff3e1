/**
 * Geohash scope end to end over a real socket: a relay started with a scope (startTestRelay) and the
 * example config/geohash.yaml loaded with loadConfig (port and database overridden). Inside accepted,
 * outside and coarse-only refused naming the scope, untagged geo-chat refused, other kinds unaffected,
 * and BitChat's relay-directory probe: a kind-20000 event with a g tag published by one client is
 * received live by a subscriber of that cell.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ngeohash from 'ngeohash';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const alice = newKeys();
const bob = newKeys();
const opened: RawClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
});

async function connect(url: string): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.socket.on('error', () => {});
  opened.push(client);
  return client;
}

const geo = (cells: string[], kind = 20000, content = 'hej') =>
  signed(alice, { kind, content, tags: [...cells.map((cell) => ['g', cell]), ['n', 'alice']] });

/** BitChat's probe: subscribe to the cell, publish a kind-20000 event there, read it back live. */
async function probe(url: string, cell: string): Promise<void> {
  const reader = await connect(url);
  reader.send(['REQ', 'probe', { kinds: [20000], '#g': [cell] }]);
  await reader.next((f) => f[0] === 'EOSE' && f[1] === 'probe');
  const writer = await connect(url);
  const event = signed(bob, {
    kind: 20000,
    content: 'probe',
    tags: [
      ['g', cell],
      ['n', 'bob'],
    ],
  });
  expect(await writer.publish(event)).toEqual(['OK', event.id, true, '']);
  const frame = await reader.next((f) => f[0] === 'EVENT' && f[1] === 'probe');
  expect((frame[2] as { id: string }).id).toBe(event.id);
}

describe('a relay scoped to u4pru (startTestRelay)', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ scopes: { geohash: { prefixes: ['u4pru'], require_for_kinds: [20000] } } });
  });
  afterAll(() => relay.cleanup());

  it('accepts events inside the scope, at the scope cell, finer, or with coarser precisions alongside', async () => {
    const client = await connect(relay.url);
    for (const cells of [['u4pru'], ['u4pruydq'], ['u', 'u4', 'u4p', 'u4pr', 'u4pru', 'u4pruy']]) {
      const event = geo(cells);
      expect(await client.publish(event)).toEqual(['OK', event.id, true, '']);
    }
    const note = geo(['u4pruy'], 1);
    expect(await client.publish(note)).toEqual(['OK', note.id, true, '']);
  });

  it('refuses a location outside, naming the scope', async () => {
    const client = await connect(relay.url);
    const event = geo(['u3but']);
    expect(await client.publish(event)).toEqual([
      'OK',
      event.id,
      false,
      "blocked: this relay serves u4pru; the event's location (g tags u3but) is outside it",
    ]);
    const note = geo(['dr5ru'], 1);
    expect((await client.publish(note))[3]).toMatch(/^blocked: this relay serves u4pru; .*dr5ru.* is outside it$/);
  });

  it('refuses coarse cells alone', async () => {
    const client = await connect(relay.url);
    const event = geo(['u', 'u4', 'u4pr']);
    const ok = await client.publish(event);
    expect(ok.slice(0, 3)).toEqual(['OK', event.id, false]);
    expect(ok[3]).toMatch(/^blocked: this relay serves u4pru; the event's location \(g tags u, u4, u4pr\)/);
  });

  it('refuses untagged geo-chat; other kinds without g tags are unaffected', async () => {
    const client = await connect(relay.url);
    const chat = signed(alice, { kind: 20000, tags: [['n', 'alice']] });
    expect(await client.publish(chat)).toEqual(['OK', chat.id, false, 'blocked: kind 20000 needs a g (geohash) tag here']);
    for (const kind of [0, 1, 7, 20001]) {
      const event = signed(alice, { kind, content: kind === 0 ? '{}' : 'x' });
      expect(await client.publish(event)).toEqual(['OK', event.id, true, '']);
    }
  });

  it("answers BitChat's probe: published with g inside, received live on #g", async () => {
    await probe(relay.url, 'u4pruyd');
  });

  it('NIP-11 says restricted_writes', async () => {
    const res = await fetch(relay.url.replace(/^ws/, 'http'), { headers: { Accept: 'application/nostr+json' } });
    expect(((await res.json()) as { limitation: Record<string, unknown> }).limitation.restricted_writes).toBe(true);
  });
});

describe('config/geohash.yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-geohash-'));
  let running: RunningRelay;
  let url: string;
  beforeAll(async () => {
    const file = fileURLToPath(new URL('../../config/geohash.yaml', import.meta.url));
    const config = loadConfig(file, { port: 0, db: join(dir, 'geohash.sqlite'), host: '127.0.0.1' }, {});
    expect(config.scopes.geohash).toEqual({ prefixes: ['u3but'], areas: [], area_precision: 6, require_for_kinds: [20000] });
    running = await startRelay(config, { logger: pino({ level: 'silent' }) });
    url = running.localUrl;
  });
  afterAll(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the probe inside works, and a late joiner still sees the geo-chat (keep 5m)', async () => {
    await probe(url, 'u3butz');
    const late = await connect(url);
    late.send(['REQ', 'late', { kinds: [20000], '#g': ['u3butz'] }]);
    const eose = await late.next((f) => f[0] === 'EOSE' && f[1] === 'late');
    expect(late.frames.filter((f) => f[0] === 'EVENT' && f[1] === 'late')).toHaveLength(1);
    expect(eose).toEqual(['EOSE', 'late']);
  });

  it('a probe elsewhere, a coarse-only one and untagged geo-chat are refused; a plain note is not', async () => {
    const client = await connect(url);
    const elsewhere = geo(['u4pru']);
    expect((await client.publish(elsewhere))[3]).toBe(
      "blocked: this relay serves u3but; the event's location (g tags u4pru) is outside it",
    );
    const coarse = geo(['u3bu']);
    expect((await client.publish(coarse))[2]).toBe(false);
    const untagged = signed(alice, { kind: 20000, tags: [['n', 'alice']] });
    expect((await client.publish(untagged))[3]).toBe('blocked: kind 20000 needs a g (geohash) tag here');
    const note = signed(alice, { kind: 1 });
    expect(await client.publish(note)).toEqual(['OK', note.id, true, '']);
  });
});

describe('a relay scoped by a GeoJSON area (inline in the YAML)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-geoarea-'));
  let running: RunningRelay;
  // A triangle over Vesterbro, Copenhagen, with a square hole in its middle.
  const area = {
    type: 'Feature',
    properties: { name: 'Vesterbro' },
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [12.53, 55.65],
          [12.56, 55.65],
          [12.545, 55.675],
          [12.53, 55.65],
        ],
        [
          [12.543, 55.655],
          [12.547, 55.655],
          [12.547, 55.658],
          [12.543, 55.658],
          [12.543, 55.655],
        ],
      ],
    },
  };
  beforeAll(async () => {
    const yaml = `scopes:\n  geohash:\n    areas:\n      - ${JSON.stringify(area)}\n    area_precision: 7\n`;
    const config = parseConfig(yaml, 'area.yaml', { port: 0, host: '127.0.0.1', db: join(dir, 'area.sqlite') });
    running = await startRelay(config, { logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a g inside the area, refuses one outside or in the hole with the scope message', async () => {
    const client = await connect(running.localUrl);
    const inside = geo([ngeohash.encode(55.66, 12.545, 9)]);
    expect(await client.publish(inside)).toEqual(['OK', inside.id, true, '']);
    for (const [lat, lon] of [
      [55.676, 12.531],
      [55.6565, 12.545],
      [55.68, 12.6],
    ] as const) {
      const cell = ngeohash.encode(lat, lon, 9);
      const outside = geo([cell]);
      const ok = await client.publish(outside);
      expect(ok.slice(0, 3)).toEqual(['OK', outside.id, false]);
      expect(ok[3]).toMatch(
        new RegExp(
          `^blocked: this relay serves u3bu\\w+, .* and \\d+ more cells; the event's location \\(g tags ${cell}\\) is outside it$`,
        ),
      );
    }
  });
});
