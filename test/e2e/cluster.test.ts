/**
 * Cluster mode end to end: real nats-server with JetStream, commons nodes as child processes
 * (`commons serve --config FILE`), real WebSocket clients, all on 127.0.0.1. Events published on one node
 * reach the others' stores and live subscribers once; deletions and replacements converge; a node that is
 * SIGKILLed catches up; an acknowledged event is never lost, whether NATS is down or the node crashed.
 *
 * Skipped where /usr/sbin/nats-server is missing on a developer's machine; under CI (.ci/run installs it) a
 * missing server fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { clusterDiagnostics, consumerPositions } from '../helpers/cluster-diagnostics.js';
import { deliveries, publishBatch, refusals, storedIds, waitUntilStored } from '../helpers/cluster-events.js';
import { type ClusterNode, clusterNodeYaml, exportedIds, killAll, logTail, startClusterNode } from '../helpers/cluster-nodes.js';
import { type Keys, newKeys, now, signed } from '../helpers/events.js';
import { hasNatsServer, NATS_MISSING, type NatsServer, natsRequired, startNatsServer } from '../helpers/nats.js';
import { runCommand } from '../helpers/run-cli.js';

/** Multi-process tests: several node starts (tsx compiles on each) and thousands of events on 2 cores. */
const CLUSTER_TIMEOUT_MS = 300_000;
const CONVERGE_MS = 120_000;

const dir = mkdtempSync(join(tmpdir(), 'commons-cluster-'));
const clients: RawClient[] = [];
const natsServers: NatsServer[] = [];
const allNodes: ClusterNode[] = [];
const natsUrlOf = new Map<ClusterNode, string>();
let clusterCount = 0;

interface Cluster {
  nats: NatsServer;
  nodes: ClusterNode[];
}

/** A fresh NATS server and nodes with the given names (each cluster in a folder of its own). */
async function startCluster(names: readonly string[], extraYaml?: (parentDir: string, name: string) => string): Promise<Cluster> {
  const nats = await startNatsServer();
  natsServers.push(nats);
  const parentDir = join(dir, `cluster-${++clusterCount}`);
  const nodes: ClusterNode[] = [];
  for (const name of names)
    nodes.push(await startClusterNode({ name, parentDir, natsUrl: nats.url, extraYaml: extraYaml?.(parentDir, name) }));
  allNodes.push(...nodes);
  for (const node of nodes) natsUrlOf.set(node, nats.url);
  await everyNodeReplicates(nodes);
  return { nats, nodes };
}

const perTest: Cluster[] = [];

/** A cluster of the running test alone, stopped after it (so finished tests leave no processes behind). */
async function clusterForThisTest(names: readonly string[], extraYaml?: (parentDir: string, name: string) => string): Promise<Cluster> {
  const cluster = await startCluster(names, extraYaml);
  perTest.push(cluster);
  return cluster;
}

/** A client of the node; `host`: the Host header (a virtual host's name). */
async function connect(node: ClusterNode, host?: string): Promise<RawClient> {
  const client = await RawClient.connect(node.url, host === undefined ? undefined : { host });
  client.socket.on('error', () => {});
  clients.push(client);
  return client;
}

/** A failure's context: the nodes' log tails and what NATS says about the stream, consumers and nodes. */
const diagnose =
  (nodes: readonly ClusterNode[], natsUrl: string) =>
  async (missing: readonly string[]): Promise<string> => {
    const held = await Promise.all(
      nodes.filter((node) => node.running()).map(async (node) => `${node.name} ${(await storedIds(await connect(node), missing)).size}`),
    );
    const labels = missing.slice(0, 5).map((id) => `${id.slice(0, 8)} "${contentOf.get(id) ?? '?'}"`);
    return [
      ...nodes.map((node) => logTail(node)),
      await clusterDiagnostics(natsUrl, { missing }),
      `of the ${missing.length} events, held by: ${held.join(', ')}; e.g. ${labels.join(', ')}`,
    ].join('\n');
  };
/** Every event's content by id (the labels say which batch an event was in). */
const contentOf = new Map<string, string>();

/** Waits until every node has every one of `ids` (a fresh connection per node). */
async function everyNodeHas(nodes: readonly ClusterNode[], ids: readonly string[], what: string, present = true): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      const client = await connect(node);
      const context = diagnose(nodes, natsUrlOf.get(node)!);
      await waitUntilStored(client, ids, { present, what: `${what} on ${node.name}`, limitMs: CONVERGE_MS, context });
    }),
  );
}

/** The state "the cluster works": an event published on each node is stored on every other node. */
async function everyNodeReplicates(nodes: readonly ClusterNode[]): Promise<void> {
  const keys = newKeys();
  for (const node of nodes) {
    const event = signed(keys, { content: `warm-up from ${node.name}` });
    const ok = await (await connect(node)).publish(event);
    expect(ok[2], JSON.stringify(ok)).toBe(true);
    await everyNodeHas(nodes, [event.id], `warm-up event of ${node.name}`);
  }
}

/** `count` kind-1 notes by the given authors, labelled. */
function notes(keys: readonly Keys[], count: number, label: string): NostrEvent[] {
  const t = now();
  const events = Array.from({ length: count }, (_, i) =>
    signed(keys[i % keys.length]!, { created_at: t - (i % 60), content: `${label} #${i}` }),
  );
  for (const event of events) contentOf.set(event.id, event.content);
  return events;
}

/** Subscribes live only (`limit: 0`: nothing stored) and resolves after EOSE. */
async function subscribeLive(client: RawClient, subId: string, filter: object): Promise<void> {
  const result = await client.req(subId, { ...filter, limit: 0 });
  expect(result.closed, `live REQ ${subId} refused`).toBeUndefined();
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const { nats, nodes } of perTest.splice(0)) {
    await killAll(nodes);
    await nats.dispose();
  }
});

afterAll(async () => {
  // Only the processes this file started, by their own handles.
  await killAll(allNodes);
  await Promise.all(natsServers.map((nats) => nats.dispose()));
  rmSync(dir, { recursive: true, force: true });
});

if (!hasNatsServer && !natsRequired) console.warn(`test/e2e/cluster.test.ts skipped: ${NATS_MISSING}`);
if (!hasNatsServer && natsRequired) {
  describe('cluster mode', () => {
    it('needs nats-server under CI (.ci/run installs it with apt-get)', () => {
      expect(hasNatsServer, NATS_MISSING).toBe(true);
    });
  });
}

describe.skipIf(!hasNatsServer)(`cluster mode: three nodes, one NATS${hasNatsServer ? '' : ` (skipped: ${NATS_MISSING})`}`, () => {
  let A: ClusterNode;
  let B: ClusterNode;
  let C: ClusterNode;
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(['A', 'B', 'C']);
    [A, B, C] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  }, CLUSTER_TIMEOUT_MS);

  it(
    'an event published on A reaches a live subscriber on C once, a REQ on B, and A’s own subscriber once (no echo)',
    async () => {
      const keys = newKeys();
      const onC = await connect(C);
      const onA = await connect(A);
      await subscribeLive(onC, 'live-c', { authors: [keys.pubkey] });
      await subscribeLive(onA, 'live-a', { authors: [keys.pubkey] });

      const event = signed(keys, { content: 'from A' });
      const ok = await (await connect(A)).publish(event);
      expect(ok[2], JSON.stringify(ok)).toBe(true);
      await onC.next((f) => f[0] === 'EVENT' && f[1] === 'live-c' && (f[2] as NostrEvent).id === event.id, CONVERGE_MS);
      await everyNodeHas([B], [event.id], 'the event from A');

      // A later event from B travels the stream after A's: once it has arrived, a repeat of A's would have too.
      const marker = signed(keys, { content: 'marker from B', created_at: event.created_at + 1 });
      expect((await (await connect(B)).publish(marker))[2]).toBe(true);
      for (const [client, subId] of [
        [onC, 'live-c'],
        [onA, 'live-a'],
      ] as const) {
        await client.next((f) => f[0] === 'EVENT' && f[1] === subId && (f[2] as NostrEvent).id === marker.id, CONVERGE_MS);
        expect(Object.fromEntries(deliveries(client, subId)), subId).toEqual({ [event.id]: 1, [marker.id]: 1 });
      }
    },
    CLUSTER_TIMEOUT_MS,
  );

  it(
    'a NIP-09 deletion published on B removes the event from A, B and C',
    async () => {
      const keys = newKeys();
      const event = signed(keys, { content: 'to be deleted' });
      expect((await (await connect(A)).publish(event))[2]).toBe(true);
      await everyNodeHas(cluster.nodes, [event.id], 'the event before its deletion');

      const deletion = signed(keys, { kind: 5, tags: [['e', event.id]], content: 'deleted on B' });
      const ok = await (await connect(B)).publish(deletion);
      expect(ok[2], JSON.stringify(ok)).toBe(true);
      await everyNodeHas(cluster.nodes, [event.id], 'the deleted event', false);
      await everyNodeHas(cluster.nodes, [deletion.id], 'the deletion request');
    },
    CLUSTER_TIMEOUT_MS,
  );

  it(
    'a replaceable event (kind 0) updated on A, then a newer one on C: every node keeps only the newest',
    async () => {
      const keys = newKeys();
      const t = now();
      const older = signed(keys, { kind: 0, created_at: t - 10, content: '{"name":"old"}' });
      const newer = signed(keys, { kind: 0, created_at: t, content: '{"name":"new"}' });
      expect((await (await connect(A)).publish(older))[2]).toBe(true);
      await everyNodeHas([C], [older.id], 'the older profile');
      expect((await (await connect(C)).publish(newer))[2]).toBe(true);

      await everyNodeHas(cluster.nodes, [older.id], 'the replaced profile', false);
      for (const node of cluster.nodes) {
        const { events } = await (await connect(node)).req('profile', { kinds: [0], authors: [keys.pubkey] });
        expect(
          events.map((e) => e.id),
          `kind 0 on ${node.name}`,
        ).toEqual([newer.id]);
      }
    },
    CLUSTER_TIMEOUT_MS,
  );

  it(
    'an ephemeral event (kind 20001) published on A reaches a live subscriber on B and is stored nowhere',
    async () => {
      const keys = newKeys();
      const onB = await connect(B);
      await subscribeLive(onB, 'ephemeral', { kinds: [20001], authors: [keys.pubkey] });
      const event = signed(keys, { kind: 20001, content: 'ephemeral from A' });
      const ok = await (await connect(A)).publish(event);
      expect(ok[2], JSON.stringify(ok)).toBe(true);
      await onB.next((f) => f[0] === 'EVENT' && f[1] === 'ephemeral' && (f[2] as NostrEvent).id === event.id, CONVERGE_MS);
      for (const node of cluster.nodes) expect((await storedIds(await connect(node), [event.id])).size, node.name).toBe(0);
    },
    CLUSTER_TIMEOUT_MS,
  );
});

describe.skipIf(!hasNatsServer)(`cluster mode: virtual hosts${hasNatsServer ? '' : ` (skipped: ${NATS_MISSING})`}`, () => {
  it(
    'each site is replicated to the same site on the other node, and only there',
    async () => {
      const SITE = 'north.example';
      const { nodes } = await clusterForThisTest(['A', 'B'], (parentDir, name) =>
        ['hosts:', `  - names: [${SITE}]`, '    storage:', `      path: ${JSON.stringify(join(parentDir, name, 'north.sqlite'))}`, ''].join(
          '\n',
        ),
      );
      const [A, B] = nodes as [ClusterNode, ClusterNode];
      const keys = newKeys();
      const onSite = signed(keys, { content: `for ${SITE}` });
      const onDefault = signed(keys, { content: 'for the default site' });
      expect((await (await connect(A, SITE)).publish(onSite))[2]).toBe(true);
      expect((await (await connect(A)).publish(onDefault))[2]).toBe(true);

      const context = diagnose(nodes, natsUrlOf.get(A)!);
      await waitUntilStored(await connect(B, SITE), [onSite.id], {
        what: `the ${SITE} event on B's ${SITE}`,
        limitMs: CONVERGE_MS,
        context,
      });
      await waitUntilStored(await connect(B), [onDefault.id], { what: "the default site's event on B", limitMs: CONVERGE_MS, context });
      // Each site's events arrived; the other site's, published before them on A, would have too.
      expect((await storedIds(await connect(B, SITE), [onDefault.id])).size, `the default site's event on B's ${SITE}`).toBe(0);
      expect((await storedIds(await connect(B), [onSite.id])).size, `the ${SITE} event on B's default site`).toBe(0);
    },
    CLUSTER_TIMEOUT_MS,
  );
});

describe.skipIf(!hasNatsServer)(`cluster mode: crashes and outages${hasNatsServer ? '' : ` (skipped: ${NATS_MISSING})`}`, () => {
  it(
    'C is SIGKILLed and restarted while A publishes 5,000 events: C converges to A’s set, and its live subscriber gets none twice',
    async () => {
      const { nodes } = await clusterForThisTest(['A', 'B', 'C']);
      const [A, , C] = nodes as [ClusterNode, ClusterNode, ClusterNode];
      const keys = [newKeys(), newKeys(), newKeys(), newKeys()];
      const publisher = await connect(A);
      const BATCHES = 20;
      const PER_BATCH = 250;
      const published: string[] = [];
      let restart: Promise<void> | undefined;
      let restarted = false;
      let subscriber: RawClient | undefined;
      const afterSubscribed: string[] = [];

      for (let batch = 0; batch < BATCHES; batch++) {
        if (batch === 4) await C.kill();
        if (batch === 8) restart = C.start().then(() => void (restarted = true));
        if (restarted && subscriber === undefined) {
          // The first batch boundary after C is listening again.
          subscriber = await connect(C);
          await subscribeLive(subscriber, 'after-restart', { kinds: [1], authors: keys.map((k) => k.pubkey) });
        }
        const events = notes(keys, PER_BATCH, `batch ${batch}`);
        const oks = await publishBatch(publisher, events);
        expect(refusals(oks), `batch ${batch}`).toEqual([]);
        for (const event of events) {
          published.push(event.id);
          if (subscriber !== undefined) afterSubscribed.push(event.id);
        }
      }
      await restart;
      if (subscriber === undefined) {
        subscriber = await connect(C);
        await subscribeLive(subscriber, 'after-restart', { kinds: [1], authors: keys.map((k) => k.pubkey) });
        const late = notes(keys, PER_BATCH, 'after the restart');
        expect(refusals(await publishBatch(publisher, late))).toEqual([]);
        published.push(...late.map((e) => e.id));
        afterSubscribed.push(...late.map((e) => e.id));
      }

      await everyNodeHas([C], published, 'the 5,000 events published on A while C was down and restarting');
      const [onA, onC] = await Promise.all([exportedIds(A), exportedIds(C)]);
      expect(onA.size).toBeGreaterThanOrEqual(published.length);
      expect(
        [...onA].filter((id) => !onC.has(id)),
        'on A, not on C',
      ).toEqual([]);
      expect(
        [...onC].filter((id) => !onA.has(id)),
        'on C, not on A',
      ).toEqual([]);

      // What was published after the subscription started reaches it; nothing reaches it twice.
      const sub = subscriber;
      const deadline = Date.now() + CONVERGE_MS;
      while (afterSubscribed.some((id) => !deliveries(sub, 'after-restart').has(id)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const final = deliveries(sub, 'after-restart');
      expect(
        afterSubscribed.filter((id) => !final.has(id)),
        'published after the subscription, never delivered',
      ).toEqual([]);
      expect(
        [...final].filter(([, n]) => n > 1),
        'delivered more than once',
      ).toEqual([]);
    },
    CLUSTER_TIMEOUT_MS,
  );

  it(
    'C SIGKILLed while holding delivered, unacknowledged stream messages gets them after restart, although later ones were applied first',
    async () => {
      const { nats, nodes } = await clusterForThisTest(['A', 'B', 'C']);
      const [A, , C] = nodes as [ClusterNode, ClusterNode, ClusterNode];
      const keys = [newKeys(), newKeys()];
      const publisher = await connect(A);

      // Frozen, C cannot apply or acknowledge what NATS already delivered to it.
      C.freeze();
      const held = notes(keys, 600, 'delivered to the frozen C');
      expect(refusals(await publishBatch(publisher, held))).toEqual([]);
      const deadline = Date.now() + CONVERGE_MS;
      let positions = await consumerPositions(nats.url, 'C');
      while (positions.ackPending === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        positions = await consumerPositions(nats.url, 'C');
      }
      expect(positions.ackPending, `NATS delivered to the frozen C: ${JSON.stringify(positions)}`).toBeGreaterThan(0);
      await C.kill();

      // After the restart the stream's newer messages come first; the held ones only after ack_wait.
      await C.start();
      const later = notes(keys, 600, 'published after the restart');
      expect(refusals(await publishBatch(publisher, later))).toEqual([]);
      await everyNodeHas(
        [C],
        [...held, ...later].map((e) => e.id),
        'events delivered to C before its crash and after',
      );
    },
    CLUSTER_TIMEOUT_MS,
  );

  it(
    'NATS is down for 10 s while A and B keep answering OK true; after it is back every acknowledged event is on every node',
    async () => {
      const { nats, nodes } = await clusterForThisTest(['A', 'B', 'C']);
      const [A, B] = nodes as [ClusterNode, ClusterNode, ClusterNode];
      const publishers = [await connect(A), await connect(B)];
      const keys = [newKeys(), newKeys()];
      const acknowledged: string[] = [];

      await nats.stop();
      const OUTAGE_MS = 10_000;
      const PER_ROUND = 5;
      const outageEnds = Date.now() + OUTAGE_MS;
      // At a fixed pace (a round every 100 ms, at most 150 rounds): the outage is a span of time by definition.
      for (let round = 0; round < 150 && Date.now() < outageEnds; round++) {
        const started = Date.now();
        await Promise.all(
          publishers.map(async (client, i) => {
            const events = notes([keys[i]!], PER_ROUND, `outage round ${round} on ${i === 0 ? 'A' : 'B'}`);
            const oks = await publishBatch(client, events, 30_000);
            expect(refusals(oks), `round ${round}: the ack is local, NATS being down must not matter`).toEqual([]);
            acknowledged.push(...events.map((e) => e.id));
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - started))));
      }
      expect(nats.running()).toBe(false);
      expect(acknowledged.length).toBeGreaterThan(0);

      await nats.start();
      await everyNodeHas(nodes, acknowledged, `the ${acknowledged.length} events acknowledged during the NATS outage`);
    },
    CLUSTER_TIMEOUT_MS,
  );

  it(
    'a node SIGKILLed right after its OK true still publishes those events after restart (NATS up, then NATS down)',
    async () => {
      const { nats, nodes } = await clusterForThisTest(['A', 'B', 'C']);
      const [A, B, C] = nodes as [ClusterNode, ClusterNode, ClusterNode];
      const keys = [newKeys(), newKeys(), newKeys()];

      // NATS up: 400 events over four connections, SIGKILL the instant the last OK is in.
      const connections = await Promise.all([0, 1, 2, 3].map(() => connect(B)));
      const burst = notes(keys, 400, 'killed after OK');
      const results = await Promise.all(
        connections.map((client, i) =>
          publishBatch(
            client,
            burst.filter((_, j) => j % 4 === i),
          ),
        ),
      );
      await B.kill();
      for (const oks of results) expect(refusals(oks)).toEqual([]);

      // NATS down: what B acknowledged can only be in its outbox when it is killed.
      await B.start();
      await nats.stop();
      const offline = notes(keys, 100, 'killed after OK, NATS down');
      expect(refusals(await publishBatch(await connect(B), offline))).toEqual([]);
      await B.kill();
      await nats.start();
      await B.start();

      const ids = [...burst, ...offline].map((e) => e.id);
      await everyNodeHas([A, C], ids, 'events B acknowledged before it was SIGKILLed');
      await everyNodeHas([B], ids, 'B’s own events after two crashes');
    },
    CLUSTER_TIMEOUT_MS,
  );
});

describe('cluster config errors (check-config)', () => {
  const cases: { name: string; yaml: string; key: string }[] = [
    { name: 'enabled without node', yaml: 'cluster:\n  enabled: true\n', key: 'cluster.node' },
    {
      name: 'enabled with an in-memory database',
      yaml: 'storage:\n  path: ":memory:"\ncluster:\n  enabled: true\n  node: A\n',
      key: 'storage.path',
    },
    {
      name: 'enabled without the writer thread',
      yaml: `storage:\n  path: ${JSON.stringify(join(dir, 'w.sqlite'))}\n  writer_thread: false\ncluster:\n  enabled: true\n  node: A\n`,
      key: 'storage.writer_thread',
    },
  ];
  for (const { name, yaml, key } of cases) {
    it(`${name}: exits non-zero naming ${key}`, async () => {
      const file = join(dir, `check-${key}.yaml`);
      writeFileSync(file, yaml);
      const run = await runCommand(['check-config', file]);
      const output = run.stdout + run.stderr;
      expect(run.code, output).not.toBe(0);
      expect(output).toContain(key);
      expect(output).not.toContain('unknown key');
    });
  }

  it('a valid cluster section passes', async () => {
    const file = join(dir, 'check-valid.yaml');
    writeFileSync(file, clusterNodeYaml({ name: 'node-1', port: 0, dbPath: join(dir, 'valid.sqlite'), natsUrl: 'nats://127.0.0.1:4222' }));
    const run = await runCommand(['check-config', file]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
  });
});
