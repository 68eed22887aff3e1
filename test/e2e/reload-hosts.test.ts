/**
 * Hot reload with virtual hosts, in process: the real relay (port 0) with two `hosts:` blocks and the
 * default, reloaded from its YAML file by serve's own reloader (startConfigReloader, as on SIGHUP).
 * Real ws clients choose a host by their Host header and stay connected across the reloads; NIP-11 is
 * read over HTTP with a Host header.
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { startConfigReloader, type ConfigReloader } from '../../src/cli/config-reload.js';
import { loadConfig } from '../../src/config/load.js';
import type { RawClient } from '../helpers/client.js';
import { trackHostConnections } from '../helpers/connections.js';
import { newKeys, signed } from '../helpers/events.js';

const alice = newKeys();
const dir = mkdtempSync(join(tmpdir(), 'commons-reload-hosts-'));
const file = join(dir, 'hosts.yaml');
const db = (name: string): string => join(dir, `${name}.sqlite`);

/** The config file: the top level and two hosts; `a` and `b` are extra lines inside each host block. */
const yaml = (a = '', b = ''): string => `
relay: { host: 127.0.0.1, port: 0 }
reload: { watch: false }
info: { name: default place }
storage: { path: ${db('default')} }
hosts:
  - names: [a.example]
    info: { name: Skagen }
    storage: { path: ${db('a')} }
    scopes: { geohash: { prefixes: [u4pru] } }
${a}
  - names: [b.example]
    info: { name: Vesterbro }
    storage: { path: ${db('b')} }
    scopes: { geohash: { prefixes: [u3but] } }
${b}
`;

interface LogLine {
  msg: string;
  key?: string;
  reason?: string;
  applied?: string[];
}
const lines: LogLine[] = [];
const log = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  }),
);

let relay: RunningRelay;
let reloader: ConfigReloader;
beforeAll(async () => {
  writeFileSync(file, yaml());
  relay = await startRelay(loadConfig(file, undefined, {}), { logger: log });
  reloader = startConfigReloader(file, () => loadConfig(file, undefined, {}), relay, log);
});
afterAll(async () => {
  reloader?.close();
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const connect = trackHostConnections(() => relay.localUrl);

let count = 0;
const geo = (cell: string) => signed(alice, { kind: 20000, content: `hej ${++count}`, tags: [['g', cell]] });

/** A geo-chat event at `cell` through `client`: true when accepted, else the refusal. */
async function verdict(client: RawClient, cell: string): Promise<true | string> {
  const answer = await client.publish(geo(cell));
  return answer[2] === true ? true : (answer[3] as string);
}

/** NIP-11 `name` of the site a Host header reaches (Node's fetch does not let a caller set Host). */
function nameOf(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: relay.port, path: '/', headers: { host, accept: 'application/nostr+json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve((JSON.parse(body) as { name: string }).name));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reloads as SIGHUP does and returns the log lines it wrote. */
async function reload(): Promise<LogLine[]> {
  const from = lines.length;
  await reloader.reload('SIGHUP');
  return lines.slice(from);
}

// The tests run in order on one relay: the second starts from the policy the first reload applied.
describe('reloading a config with two virtual hosts', () => {
  it('a changed policy in one host block changes that host only, on connections that stay open', async () => {
    const [a, b, top] = [await connect('a.example'), await connect('b.example'), await connect()];
    expect(await verdict(a, 'u4prux')).toBe(true);
    expect(await verdict(a, 'u4prvx')).toMatch(/^blocked: this relay serves u4pru; /);
    expect(await verdict(b, 'u3butz')).toBe(true);
    const refusedOnB = await verdict(b, 'u4prvx');

    // Host a moves its scope to the next cell and is renamed; host b and the top level are unchanged.
    writeFileSync(
      file,
      yaml('    write: { kinds: { deny: [7] } }\n')
        .replace('prefixes: [u4pru]', 'prefixes: [u4prv]')
        .replace('name: Skagen', 'name: Skagen 2'),
    );
    const logged = await reload();
    expect(logged.find((line) => line.msg === 'config reloaded')?.applied).toEqual([
      'hosts[0].info.name',
      'hosts[0].write.kinds.deny',
      'hosts[0].scopes.geohash.prefixes',
    ]);

    expect(await verdict(a, 'u4prvx')).toBe(true);
    expect(await verdict(a, 'u4prux')).toMatch(/^blocked: this relay serves u4prv; /);
    expect((await a.publish(signed(alice, { kind: 7, content: '+' })))[3]).toMatch(/^blocked: /);
    expect(await verdict(b, 'u3butz')).toBe(true);
    expect(await verdict(b, 'u4prvx')).toBe(refusedOnB);
    expect((await b.publish(signed(alice, { kind: 7, content: '+' })))[2]).toBe(true);
    expect(await verdict(top, 'u4prux')).toBe(true);
    expect(await Promise.all(['a.example', 'b.example', 'other.example'].map(nameOf))).toEqual(['Skagen 2', 'Vesterbro', 'default place']);
    expect([a.closeCode, b.closeCode, top.closeCode]).toEqual([undefined, undefined, undefined]);
  });

  it('an invalid block in one host refuses the whole reload, naming hosts[i]; no host changes', async () => {
    const [a, b] = [await connect('a.example'), await connect('b.example')];
    const before = relay.sites.map((site) => site.config);
    // Host a's block is valid (a new name, a third scope); host b's has a bad value.
    writeFileSync(
      file,
      yaml('', '    limits: { max_limit: -1 }\n')
        .replace('prefixes: [u4pru]', 'prefixes: [u4pru, u4prv, u3but]')
        .replace('name: Skagen', 'name: Skagen 3'),
    );
    const logged = await reload();
    expect(logged.filter((line) => line.key !== undefined).map(({ key, reason }) => [key, reason])).toEqual([
      ['hosts[1].limits.max_limit', 'must be at least 1, got -1'],
    ]);
    expect(logged.at(-1)?.msg).toBe('config reload refused; the running config stays');
    expect(relay.sites.every((site, i) => site.config === before[i])).toBe(true);
    // Host a still runs the previous reload's policy; b is untouched.
    expect(await verdict(a, 'u3butz')).toMatch(/^blocked: this relay serves u4prv; /);
    expect(await nameOf('a.example')).toBe('Skagen 2');
    expect(await verdict(b, 'u3butz')).toBe(true);
    expect([a.closeCode, b.closeCode]).toEqual([undefined, undefined]);
  });
});
