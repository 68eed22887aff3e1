/**
 * Hot reload of the policy file, end to end: the real `serve` process on a temporary config file, a
 * real WebSocket connection kept open across reloads, SIGHUP and the file watcher.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ngeohash from 'ngeohash';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RawClient, sleep } from '../helpers/client.js';
import { freePort, startCliRelay, type CliRelay } from '../helpers/cli.js';
import { newKeys, signed } from '../helpers/events.js';

const TIMEOUT_MS = 20_000;
const LONG_TEST_MS = 60_000;

const dir = mkdtempSync(join(tmpdir(), 'commons-reload-'));
const relays: CliRelay[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const relay of relays.splice(0)) {
    if (relay.child.exitCode === null && relay.child.signalCode === null) relay.child.kill('SIGTERM');
    await relay.waitExit(TIMEOUT_MS).catch(() => relay.child.kill('SIGKILL'));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface LogEntry {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function entries(relay: CliRelay): LogEntry[] {
  return relay.stderr.flatMap((line) => {
    try {
      return [JSON.parse(line) as LogEntry];
    } catch {
      return [];
    }
  });
}

/** The first log entry after the first `from` entries that satisfies `predicate` (bounded wait). */
async function waitForLog(relay: CliRelay, from: number, predicate: (entry: LogEntry) => boolean, what: string): Promise<LogEntry> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const found = entries(relay).slice(from).find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not logged within ${TIMEOUT_MS} ms:\n${relay.stderr.join('\n')}`);
    await sleep(20);
  }
}

async function start(name: string, yaml: string): Promise<{ relay: CliRelay; file: string; client: RawClient }> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  // The database sits beside the config file: its writes must not look like config changes.
  const relay = await startCliRelay({ config: file, db: join(dir, `${name}.sqlite`), port: await freePort(), startTimeoutMs: TIMEOUT_MS });
  relays.push(relay);
  const client = await RawClient.connect(relay.url);
  clients.push(client);
  return { relay, file, client };
}

/** SIGHUP, then the relay's verdict on it: 'config reloaded' or 'config reload refused …'. */
async function sighup(relay: CliRelay): Promise<LogEntry> {
  const from = entries(relay).length;
  relay.child.kill('SIGHUP');
  return waitForLog(
    relay,
    from,
    (e) => e.trigger === 'SIGHUP' && (e.msg === 'config reloaded' || e.msg.startsWith('config reload refused;')),
    'reload verdict',
  );
}

async function nip11(relay: CliRelay): Promise<{ name: string }> {
  const response = await fetch(relay.url.replace('ws://', 'http://'), { headers: { Accept: 'application/nostr+json' } });
  return (await response.json()) as { name: string };
}

const author = newKeys();
let counter = 0;
const reaction = () => signed(author, { kind: 7, content: `+${++counter}` });
const note = () => signed(author, { kind: 1, content: `note ${++counter}` });

describe('serve: reload on SIGHUP', () => {
  it('applies a valid file on the same connection, refuses an invalid one, and keeps restart-only keys', {
    timeout: LONG_TEST_MS,
  }, async () => {
    const base = 'reload:\n  watch: false\ninfo:\n  name: before\n';
    const { relay, file, client } = await start('sighup', base);
    expect((await client.publish(reaction()))[2]).toBe(true);
    expect((await nip11(relay)).name).toBe('before');

    // A valid change: kind 7 refused from now on, a new name in NIP-11; the connection stays.
    writeFileSync(file, 'reload:\n  watch: false\ninfo:\n  name: after\nwrite:\n  kinds:\n    deny: [7]\n');
    const reloaded = await sighup(relay);
    expect(reloaded.msg).toBe('config reloaded');
    expect(reloaded.applied).toEqual(['info.name', 'write.kinds.deny']);
    const refused = await client.publish(reaction());
    expect(refused[2]).toBe(false);
    expect(refused[3]).toMatch(/^blocked: /);
    expect((await client.publish(note()))[2]).toBe(true);
    expect(client.closeCode).toBeUndefined();
    expect((await nip11(relay)).name).toBe('after');

    // An invalid file (which would also lift the deny rule): refused with file, key and reason; the old policy stays.
    writeFileSync(file, 'reload:\n  watch: false\ninfo:\n  name: broken\nlimits:\n  max_limit: -1\n');
    const from = entries(relay).length;
    expect((await sighup(relay)).msg).toBe('config reload refused; the running config stays');
    const problem = await waitForLog(relay, from, (e) => e.key === 'limits.max_limit', 'the problem');
    expect(problem.level).toBe(50);
    expect(problem.file).toBe(file);
    expect(problem.msg).toMatch(
      new RegExp(`^config reload refused: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: limits\\.max_limit: .+`),
    );
    expect((await client.publish(reaction()))[3]).toMatch(/^blocked: /);
    expect((await nip11(relay)).name).toBe('after');

    // A restart-only key changes: logged as needing a restart and not applied; the rest is applied.
    writeFileSync(file, 'reload:\n  watch: false\ninfo:\n  name: third\nwrite:\n  kinds:\n    deny: [7]\nverify:\n  workers: 1\n');
    const withRestart = await sighup(relay);
    expect(withRestart.applied).toEqual(['info.name']);
    expect(withRestart.restartRequired).toEqual(['verify.workers']);
    const warning = entries(relay).find((e) => e.key === 'verify.workers' && e.level === 40);
    expect(warning?.msg).toMatch(/restart/);
    expect((await nip11(relay)).name).toBe('third');
    expect(client.closeCode).toBeUndefined();

    // The same file again: still reported as needing a restart (the running value did not change).
    expect((await sighup(relay)).restartRequired).toEqual(['verify.workers']);
  });
});

describe('serve: reload when the file changes', () => {
  it('picks up a file replaced by rename (as editors save) without a signal', { timeout: LONG_TEST_MS }, async () => {
    const { relay, file, client } = await start('watched', 'info:\n  name: watched\n');
    expect((await client.publish(note()))[2]).toBe(true);

    const from = entries(relay).length;
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, 'info:\n  name: watched again\nwrite:\n  kinds:\n    deny: [1]\n');
    renameSync(temporary, file);

    const reloaded = await waitForLog(relay, from, (e) => e.msg === 'config reloaded', 'config reloaded');
    expect(reloaded.trigger).toBe('file changed');
    expect((await client.publish(note()))[3]).toMatch(/^blocked: /);
    expect((await nip11(relay)).name).toBe('watched again');
    expect(client.closeCode).toBeUndefined();
  });
});

describe('serve: a GeoJSON area file (scopes.geohash.areas by path)', () => {
  const vesterbro = {
    type: 'Polygon',
    coordinates: [
      [
        [12.53, 55.65],
        [12.56, 55.65],
        [12.545, 55.675],
        [12.53, 55.65],
      ],
    ],
  };
  const skagen = {
    type: 'Feature',
    properties: {},
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [10.5, 57.7],
          [10.6, 57.7],
          [10.6, 57.75],
          [10.5, 57.75],
          [10.5, 57.7],
        ],
      ],
    },
  };
  const chat = (lat: number, lon: number) =>
    signed(author, { kind: 20000, content: `hej ${++counter}`, tags: [['g', ngeohash.encode(lat, lon, 9)]] });

  it("is read from the config file's directory; an edited file is applied on SIGHUP with the YAML unchanged; a broken one is refused", {
    timeout: LONG_TEST_MS,
  }, async () => {
    // The file sits in a folder beside the config (the relay's working directory is the repository).
    mkdirSync(join(dir, 'areas'), { recursive: true });
    const area = join(dir, 'areas', 'place.geojson');
    writeFileSync(area, JSON.stringify(vesterbro));
    const { relay, file, client } = await start(
      'geofile',
      'reload:\n  watch: false\nscopes:\n  geohash:\n    areas: [areas/place.geojson]\n',
    );
    expect((await client.publish(chat(55.66, 12.545)))[2]).toBe(true);
    const outside = await client.publish(chat(57.72, 10.55));
    expect(outside[2]).toBe(false);
    expect(outside[3]).toMatch(/^blocked: this relay serves u3bu\w+, .* is outside it$/);

    // The GeoJSON file changes, the YAML does not: SIGHUP applies the new area on the open connection.
    writeFileSync(area, JSON.stringify({ type: 'FeatureCollection', features: [skagen] }));
    const reloaded = await sighup(relay);
    expect(reloaded.msg).toBe('config reloaded');
    expect(reloaded.applied).toEqual(['scopes.geohash.areas']);
    expect((await client.publish(chat(57.72, 10.55)))[2]).toBe(true);
    expect((await client.publish(chat(55.66, 12.545)))[3]).toMatch(/^blocked: this relay serves u4r\w+.* is outside it$/);

    // A broken file: the reload is refused naming the YAML file, the entry and the GeoJSON file; the area stays.
    writeFileSync(area, '{"type": "Polygon", "coordinates": [[[10.5, 57.7], ');
    const from = entries(relay).length;
    expect((await sighup(relay)).msg).toBe('config reload refused; the running config stays');
    const problem = await waitForLog(relay, from, (e) => e.key === 'scopes.geohash.areas[0]', 'the problem');
    expect(problem.file).toBe(file);
    expect(problem.reason).toMatch(new RegExp(`^GeoJSON file ${area.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON: `));
    expect((await client.publish(chat(57.72, 10.55)))[2]).toBe(true);
    expect(client.closeCode).toBeUndefined();
  });

  it('with reload.watch, an edited area file is applied without a signal; a broken one is refused until it is fixed', {
    timeout: LONG_TEST_MS,
  }, async () => {
    mkdirSync(join(dir, 'watched-areas'), { recursive: true });
    const area = join(dir, 'watched-areas', 'place.geojson');
    writeFileSync(area, JSON.stringify(vesterbro));
    const { relay, client } = await start('geowatch', 'scopes:\n  geohash:\n    areas: [watched-areas/place.geojson]\n');
    expect((await client.publish(chat(55.66, 12.545)))[2]).toBe(true);
    expect((await client.publish(chat(57.72, 10.55)))[2]).toBe(false);

    // Saved the way editors do (a new file renamed over the old one); the YAML is untouched.
    let from = entries(relay).length;
    writeFileSync(`${area}.tmp`, JSON.stringify({ type: 'FeatureCollection', features: [skagen] }));
    renameSync(`${area}.tmp`, area);
    const reloaded = await waitForLog(relay, from, (e) => e.msg === 'config reloaded', 'config reloaded');
    expect(reloaded.trigger).toBe('file changed');
    expect(reloaded.applied).toEqual(['scopes.geohash.areas']);
    expect((await client.publish(chat(57.72, 10.55)))[2]).toBe(true);
    expect((await client.publish(chat(55.66, 12.545)))[3]).toMatch(/^blocked: this relay serves u4r\w+.* is outside it$/);

    // Broken: refused, the area stays; fixed again: applied, so the broken file stayed watched.
    from = entries(relay).length;
    writeFileSync(area, '{"type": "Polygon", ');
    const problem = await waitForLog(relay, from, (e) => e.key === 'scopes.geohash.areas[0]', 'the problem');
    expect(problem.trigger).toBe('file changed');
    expect((await client.publish(chat(57.72, 10.55)))[2]).toBe(true);
    from = entries(relay).length;
    writeFileSync(area, JSON.stringify(vesterbro));
    await waitForLog(relay, from, (e) => e.msg === 'config reloaded', 'config reloaded after the fix');
    expect((await client.publish(chat(55.66, 12.545)))[2]).toBe(true);
    expect((await client.publish(chat(57.72, 10.55)))[2]).toBe(false);
    expect(client.closeCode).toBeUndefined();
  });
});
