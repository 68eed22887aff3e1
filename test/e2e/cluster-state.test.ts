/**
 * Cluster mode, what the nodes share besides events: NIP-86 changes made on one node apply on the others;
 * NIP-11, the page and `commons cluster status` show the nodes; the outbox bound refuses events with
 * `error:` while NATS is down and lets them in again once it drained. Two in-process relays (the real
 * relay on port 0, real SQLite files) and a real nats-server, all on 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalizeEvent } from 'nostr-tools/pure';
import { getToken } from 'nostr-tools/nip98';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { hasNatsServer, NATS_MISSING, type NatsServer, natsRequired, startNatsServer } from '../helpers/nats.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { runCommand } from '../helpers/run-cli.js';
import { readClusterStatus } from '../../src/cluster/status.js';
import { connect as connect_ } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';

const CONVERGE_MS = 30_000;
const admin = newKeys();
let nats: NatsServer;
let streams = 0;
const relays: TestRelay[] = [];
const clients: RawClient[] = [];
const dir = mkdtempSync(join(tmpdir(), 'commons-cluster-state-'));

/** Nodes named `names` on a stream of their own (one per test, unless `stream` names an earlier one), with `admin` as NIP-86 admin. */
async function startNodes(names: readonly string[], cluster: Record<string, unknown> = {}, stream = ++streams): Promise<TestRelay[]> {
  const nodes: TestRelay[] = [];
  for (const node of names) {
    const relay = await startTestRelay({
      management: { admins: [admin.pubkey] },
      cluster: { enabled: true, node, servers: [nats.url], stream: `STATE${stream}`, subject_prefix: `state${stream}`, ...cluster },
    });
    relays.push(relay);
    nodes.push(relay);
  }
  return nodes;
}

async function connect(url: string): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.socket.on('error', () => {});
  clients.push(client);
  return client;
}

const httpUrl = (wsUrl: string): string => `${wsUrl.replace(/^ws/, 'http')}/`;

async function manage(url: string, method: string, params: unknown[]): Promise<unknown> {
  const request = { method, params };
  const token = await getToken(httpUrl(url), 'POST', (t) => finalizeEvent(t, admin.secret), true, request);
  const response = await fetch(httpUrl(url), {
    method: 'POST',
    body: JSON.stringify(request),
    headers: { 'Content-Type': 'application/nostr+json+rpc', Authorization: token },
  });
  const body = (await response.json()) as { result: unknown; error: string | null };
  expect(body.error).toBeNull();
  return body.result;
}

const information = async (url: string): Promise<Record<string, unknown>> =>
  (await fetch(httpUrl(url), { headers: { Accept: 'application/nostr+json' } })).json() as Promise<Record<string, unknown>>;

beforeAll(async () => {
  if (hasNatsServer) nats = await startNatsServer();
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const relay of relays.splice(0)) await relay.cleanup();
});
afterAll(async () => {
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

if (!hasNatsServer && !natsRequired) console.warn(`test/e2e/cluster-state.test.ts skipped: ${NATS_MISSING}`);
if (!hasNatsServer && natsRequired) {
  describe('cluster mode: shared state', () => {
    it('needs nats-server under CI (.ci/run installs it with apt-get)', () => {
      expect(hasNatsServer, NATS_MISSING).toBe(true);
    });
  });
}

describe.skipIf(!hasNatsServer)(`cluster mode: shared state${hasNatsServer ? '' : ` (skipped: ${NATS_MISSING})`}`, () => {
  it('applies a NIP-86 ban, event ban and name change made on one node on the other', async () => {
    const [a, b] = await startNodes(['a', 'b']);
    const spammer = newKeys();
    const author = newKeys();
    const doomed = signed(author, { content: 'to be banned' });
    const onA = await connect(a!.url);
    expect(await onA.publish(doomed)).toEqual(['OK', doomed.id, true, '']);
    const onB = await connect(b!.url);
    await expect.poll(async () => (await onB.req('doomed', { ids: [doomed.id] })).events.length, { timeout: CONVERGE_MS }).toBe(1);

    await manage(a!.url, 'banpubkey', [spammer.pubkey, 'spam']);
    await manage(a!.url, 'banevent', [doomed.id, 'abuse']);
    await manage(a!.url, 'changerelayname', ['one relay, two nodes']);

    await expect
      .poll(() => manage(b!.url, 'listbannedpubkeys', []), { timeout: CONVERGE_MS })
      .toEqual([{ pubkey: spammer.pubkey, reason: 'spam' }]);
    await expect.poll(async () => (await information(b!.url)).name, { timeout: CONVERGE_MS }).toBe('one relay, two nodes');
    expect(await manage(b!.url, 'listbannedevents', [])).toEqual([{ id: doomed.id, reason: 'abuse' }]);
    expect((await onB.req('gone', { ids: [doomed.id] })).events).toEqual([]);
    const refused = await onB.publish(signed(spammer, { content: 'spam on b' }));
    expect(refused[2]).toBe(false);
    expect(refused[3]).toMatch(/^blocked: /);
  });

  it('names the node and its peers in NIP-11, on the page and in `commons cluster status`', async () => {
    const [a, b] = await startNodes(['a', 'b']);
    await expect
      .poll(async () => (await information(a!.url)).cluster, { timeout: CONVERGE_MS, interval: 250 })
      .toEqual({ node: 'a', peers: [{ node: 'b', healthy: true, lag: 0 }] });
    const page = await (await fetch(httpUrl(a!.url))).text();
    expect(page).toContain('<p id="cluster">This is node a of 2: b is up.</p>');

    const config = join(dir, 'status.yaml');
    const { stream, subject_prefix } = a!.config.cluster;
    writeFileSync(
      config,
      `cluster:\n  enabled: true\n  node: cli\n  servers: [${nats.url}]\n  stream: ${stream}\n  subject_prefix: ${subject_prefix}\nstorage:\n  path: ${join(dir, 'cli.sqlite')}\n`,
    );
    const run = await runCommand(['cluster', 'status', '--config', config, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse(run.stdout) as { consumers: { name: string }[]; nodes: { node: string; connected: boolean }[] };
    expect(status.consumers.map((consumer) => consumer.name)).toEqual(['a', 'b']);
    expect(status.nodes.map(({ node, connected }) => [node, connected])).toEqual([
      ['a', true],
      ['b', true],
    ]);

    await b!.cleanup();
    relays.splice(relays.indexOf(b!), 1);
    await expect
      .poll(async () => (await information(a!.url)).cluster, { timeout: CONVERGE_MS, interval: 250 })
      .toMatchObject({ node: 'a', peers: [{ node: 'b', healthy: false }] });
  });

  it('refuses events with error: while NATS is down and the outbox is full, and takes them again once it drained', async () => {
    const [a, b] = await startNodes(['a', 'b'], { outbox_max_events: 100 });
    const onA = await connect(a!.url);
    const keys = newKeys();
    await nats.stop();
    try {
      const kept = Array.from({ length: 100 }, (_, i) => signed(keys, { content: `while NATS is down ${i}` }));
      for (const event of kept) expect(await onA.publish(event)).toEqual(['OK', event.id, true, '']);
      const over = await onA.publish(signed(keys, { content: 'one too many' }));
      expect(over[2]).toBe(false);
      expect(over[3]).toMatch(/^error: .*cluster/);
    } finally {
      await nats.start();
    }
    const onB = await connect(b!.url);
    await expect
      .poll(async () => (await onB.req('all', { authors: [keys.pubkey], limit: 500 })).events.length, { timeout: CONVERGE_MS })
      .toBe(100);
    const after = signed(keys, { content: 'after NATS came back' });
    await expect.poll(async () => (await onA.publish(signed(keys, { content: 'probe' })))[2], { timeout: CONVERGE_MS }).toBe(true);
    expect(await onA.publish(after)).toEqual(['OK', after.id, true, '']);
  });

  it('a node joining after the stream dropped messages says so; `commons sync` from a peer fills the gap, then it follows the stream', async () => {
    const [a] = await startNodes(['a'], { max_age: 1 });
    const stream = streams;
    const onA = await connect(a!.url);
    const keys = newKeys();
    const early = Array.from({ length: 20 }, (_, i) => signed(keys, { content: `before c joined ${i}` }));
    for (const event of early) expect((await onA.publish(event))[2]).toBe(true);
    // Published, then expired (max_age 1 s).
    await expect
      .poll(async () => (await readClusterStatus(a!.config.cluster, 100)).stream, { timeout: CONVERGE_MS, interval: 250 })
      .toMatchObject({ messages: 0, lastSeq: expect.any(Number) });
    expect((await readClusterStatus(a!.config.cluster, 100)).stream.lastSeq).toBeGreaterThan(0);

    const [c] = await startNodes(['c'], { max_age: 1 }, stream);
    const statusOfC = async () => (await readClusterStatus(c!.config.cluster, 300)).nodes.find((node) => node.node === 'c');
    await expect
      .poll(async () => (await statusOfC())?.lastError?.message, { timeout: CONVERGE_MS, interval: 250 })
      .toMatch(/expired before this node applied them: run `commons sync/);
    const onC = await connect(c!.url);
    expect((await onC.req('before', { authors: [keys.pubkey] })).events).toEqual([]);

    const config = join(dir, 'c.yaml');
    writeFileSync(config, `storage:\n  path: ${c!.dbPath}\n`);
    const run = await runCommand(['sync', a!.url, '--config', config], '', 60_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/accepted: 20/);
    expect((await onC.req('after sync', { authors: [keys.pubkey], limit: 100 })).events).toHaveLength(20);

    const late = signed(keys, { content: 'after c joined' });
    expect((await onA.publish(late))[2]).toBe(true);
    await expect.poll(async () => (await onC.req('late', { ids: [late.id] })).events.length, { timeout: CONVERGE_MS }).toBe(1);
  });

  it('leaves out an event of another node the store refuses, and applies the rest of its batch and the batches after it', async () => {
    const [a] = await startNodes(['a']);
    const keys = newKeys();
    const [before, after, next] = [
      signed(keys, { content: 'before' }),
      signed(keys, { content: 'after' }),
      signed(keys, { content: 'next' }),
    ];
    // An ephemeral event without a retention time: the store refuses it (no node sends one; a broken one could).
    const refused = signed(keys, { kind: 20001, content: 'not storable' });
    const wire = (event: { id: string }, expiresAt: number | null = null) => [JSON.stringify(event), expiresAt, false];
    // The node creates the stream and its consumer once it reaches NATS, after it started listening.
    const consumers = async () => (await readClusterStatus(a!.config.cluster, 100).catch(() => undefined))?.consumers.map((c) => c.name);
    await expect.poll(consumers, { timeout: CONVERGE_MS, interval: 100 }).toEqual(['a']);
    const connection = await connect_({ servers: nats.url });
    try {
      const js = jetstream(connection);
      const subject = `${a!.config.cluster.subject_prefix}.events.default`;
      await js.publish(subject, JSON.stringify({ v: 1, node: 'x', events: [wire(before), wire(refused), wire(after)] }));
      await js.publish(subject, JSON.stringify({ v: 1, node: 'x', events: [wire(next)] }));
    } finally {
      await connection.close();
    }
    const onA = await connect(a!.url);
    await expect
      .poll(async () => (await onA.req('x', { authors: [keys.pubkey] })).events.map((event) => event.content).sort(), {
        timeout: CONVERGE_MS,
      })
      .toEqual(['after', 'before', 'next']);
  });

  it('splits what waits in the outbox into stream messages under the NATS payload limit', async () => {
    const [a, b] = await startNodes(['a', 'b']);
    const keys = newKeys();
    // 20 events of 60 KB of quotes: each about 240 KB as a string in a stream message, 4.8 MB in all.
    const large = Array.from({ length: 20 }, (_, i) => signed(keys, { content: `${i}${'"'.repeat(60_000)}` }));
    const onA = await connect(a!.url);
    // While NATS is down they gather in the outbox, to be published together.
    await nats.stop();
    try {
      for (const event of large) expect((await onA.publish(event))[2]).toBe(true);
    } finally {
      await nats.start();
    }
    const onB = await connect(b!.url);
    await expect
      .poll(async () => (await onB.req('large', { authors: [keys.pubkey], limit: 100 })).events.length, { timeout: CONVERGE_MS })
      .toBe(20);
  });
});
