import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/types.js';
import type { ClusterInformation } from '../nips/nip11.js';
import type { StoreLocation } from '../store/store.js';
import type { ManagementChange } from '../store/management.js';
import type { WireItem } from '../store/writer-thread.js';

/** A site as the cluster sees it: its database and the token that names it in subjects and consumers. */
export interface ClusterSite {
  readonly location: StoreLocation;
  /** 'default', or the site's first host name with every character NATS reserves replaced by _. */
  readonly key: string;
}

/** What the main thread gives the cluster thread (workerData). */
export interface ClusterThreadData {
  readonly cluster: Config['cluster'];
  readonly sites: readonly ClusterSite[];
  /** Its channel to the process's writer thread (WriterThread.openChannel). */
  readonly writer: MessagePort;
  readonly logLevel: string;
}

/**
 * One message of the stream: a run of events a node stored, in the order it stored them, or a run of
 * NIP-86 changes it made (never both: the outbox's order is kept message by message).
 */
export type StreamBatch = { v: 1; node: string } & ({ events: WireItem[] } | { changes: ManagementChange[] });

/** One message of <prefix>.ephemeral.<site>: an ephemeral event a node accepted (core NATS, never stored). */
export interface EphemeralMessage {
  node: string;
  json: string;
}

/** What a node answers on <prefix>.status (`commons cluster status`). */
export interface NodeStatus {
  node: string;
  connected: boolean;
  startedAt: number;
  lastError: { message: string; at: number } | null;
  sites: { site: string; applied: number; outbox: number }[];
}

/** How another node is, as NIP-11 and the page show it. */
export type PeerHealth = ClusterInformation['peers'][number];

/** Broadcast by the cluster thread to every thread (WriterThread.onBroadcast) every few seconds. */
export interface ClusterPeers {
  type: 'cluster-peers';
  node: string;
  peers: PeerHealth[];
}

export function isClusterPeers(message: unknown): message is ClusterPeers {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'cluster-peers';
}

/** Main thread → cluster thread. */
export type ToClusterThread = { type: 'stop' };

/** Cluster thread → main thread. */
export type FromClusterThread = { type: 'started' } | { type: 'log'; line: string } | { type: 'stopped' };

/** The subject token of a site: 'default', or its first host name made safe for NATS. */
export function siteKey(names: readonly string[]): string {
  return names.length === 0 ? 'default' : names[0]!.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The durable consumer of a node for a site: the node's name for the default site. */
export function consumerName(node: string, site: string): string {
  return site === 'default' ? node : `${node}__${site}`;
}

export const subjects = (prefix: string) => ({
  events: (site: string) => `${prefix}.events.${site}`,
  allEvents: `${prefix}.events.>`,
  ephemeral: (site: string) => `${prefix}.ephemeral.${site}`,
  allEphemeral: `${prefix}.ephemeral.*`,
  status: `${prefix}.status`,
});
