/**
 * The parts of a cluster end-to-end test file: clusters (a fresh nats-server and commons nodes as child
 * processes) that are known to replicate before a test uses them, clients tracked for clean-up, waits
 * until every node has (or has lost) events with a failure message that says where they are, and labelled
 * notes. `registerCleanup()` ends, by their own handles, only the processes the file started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from './client.js';
import { clusterDiagnostics } from './cluster-diagnostics.js';
import { storedIds, waitUntilStored } from './cluster-events.js';
import { type ClusterNode, killAll, logTail, startClusterNode } from './cluster-nodes.js';
import { type Keys, newKeys, now, signed } from './events.js';
import { type NatsServer, startNatsServer } from './nats.js';

/** Multi-process tests: several node starts (tsx compiles on each) and thousands of events on 2 cores. */
export const CLUSTER_TIMEOUT_MS = 300_000;
export const CONVERGE_MS = 120_000;
/** Above the bounded waits for processes to exit (30 s per node, in parallel; 20 s for NATS). */
const CLEANUP_TIMEOUT_MS = 90_000;

export interface Cluster {
  nats: NatsServer;
  nodes: ClusterNode[];
}

export type ExtraYaml = (parentDir: string, name: string) => string;

export function clusterHarness(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const clients: RawClient[] = [];
  const natsServers: NatsServer[] = [];
  const allNodes: ClusterNode[] = [];
  const natsUrlOf = new Map<ClusterNode, string>();
  const perTest: Cluster[] = [];
  /** Every event's content by id (the labels say which batch an event was in). */
  const contentOf = new Map<string, string>();
  let clusterCount = 0;

  /** A fresh NATS server and nodes with the given names (each cluster in a folder of its own), replicating. */
  async function startCluster(names: readonly string[], extraYaml?: ExtraYaml): Promise<Cluster> {
    const nats = await startNatsServer();
    natsServers.push(nats);
    const parentDir = join(dir, `cluster-${++clusterCount}`);
    const nodes: ClusterNode[] = [];
    for (const name of names) {
      nodes.push(await startClusterNode({ name, parentDir, natsUrl: nats.url, extraYaml: extraYaml?.(parentDir, name) }));
    }
    allNodes.push(...nodes);
    for (const node of nodes) natsUrlOf.set(node, nats.url);
    await everyNodeReplicates(nodes);
    return { nats, nodes };
  }

  /** A cluster of the running test alone, stopped after it (so finished tests leave no processes behind). */
  async function clusterForThisTest(names: readonly string[], extraYaml?: ExtraYaml): Promise<Cluster> {
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

  /** A failure's context: log tails, what NATS says of the stream, consumers and nodes, and who holds what. */
  const diagnose =
    (nodes: readonly ClusterNode[]) =>
    async (missing: readonly string[]): Promise<string> => {
      const held = await Promise.all(
        nodes.filter((node) => node.running()).map(async (node) => `${node.name} ${(await storedIds(await connect(node), missing)).size}`),
      );
      const labels = missing.slice(0, 5).map((id) => `${id.slice(0, 8)} "${contentOf.get(id) ?? '?'}"`);
      return [
        ...nodes.map((node) => logTail(node)),
        await clusterDiagnostics(natsUrlOf.get(nodes[0]!)!, { missing }),
        `of the ${missing.length} events, held by: ${held.join(', ')}; e.g. ${labels.join(', ')}`,
      ].join('\n');
    };

  /** Waits until every node has every one of `ids` (`present`), or none of them. */
  async function everyNodeHas(nodes: readonly ClusterNode[], ids: readonly string[], what: string, present = true): Promise<void> {
    await Promise.all(
      nodes.map(async (node) => {
        const client = await connect(node);
        await waitUntilStored(client, ids, { present, what: `${what} on ${node.name}`, limitMs: CONVERGE_MS, context: diagnose(nodes) });
      }),
    );
  }

  /** The state "the cluster works": an event published on each node is stored on every other node. */
  async function everyNodeReplicates(nodes: readonly ClusterNode[]): Promise<void> {
    const author = newKeys();
    for (const node of nodes) {
      const event = signed(author, { content: `warm-up from ${node.name}` });
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

  function registerCleanup(): void {
    afterEach(async () => {
      for (const client of clients.splice(0)) client.socket.terminate();
      for (const { nats, nodes } of perTest.splice(0)) {
        await killAll(nodes);
        await nats.dispose();
      }
    }, CLEANUP_TIMEOUT_MS);
    afterAll(async () => {
      await killAll(allNodes);
      await Promise.all(natsServers.map((nats) => nats.dispose()));
      rmSync(dir, { recursive: true, force: true });
    }, CLEANUP_TIMEOUT_MS);
  }

  return { dir, startCluster, clusterForThisTest, connect, diagnose, everyNodeHas, notes, subscribeLive, registerCleanup };
}
