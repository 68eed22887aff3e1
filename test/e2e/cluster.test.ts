/**
 * Cluster mode end to end: real nats-server with JetStream, commons nodes as child processes
 * (`commons serve --config FILE`), real WebSocket clients, all on 127.0.0.1. An event published on one node
 * reaches the others' stores and live subscribers once and never comes back to its own; deletions,
 * replacements and ephemeral events travel; with `hosts:` each site is replicated on its own; check-config
 * names the key of a wrong cluster section. Crashes and outages: cluster-crashes.test.ts.
 *
 * Skipped where /usr/sbin/nats-server is missing on a developer's machine; under CI (.ci/run installs it) a
 * missing server fails.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { deliveries, storedIds, waitUntilStored } from '../helpers/cluster-events.js';
import { CLUSTER_TIMEOUT_MS, CONVERGE_MS, type Cluster, clusterHarness } from '../helpers/cluster-harness.js';
import { type ClusterNode, clusterNodeYaml } from '../helpers/cluster-nodes.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { hasNatsServer, NATS_MISSING, natsRequired } from '../helpers/nats.js';
import { runCommand } from '../helpers/run-cli.js';

const { dir, startCluster, clusterForThisTest, connect, diagnose, everyNodeHas, subscribeLive, registerCleanup } =
  clusterHarness('commons-cluster-');
registerCleanup();

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

      const context = diagnose(nodes);
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
