import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, NoRespondersError, type Authenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Config } from '../config/types.js';
import { subjects, type NodeStatus } from './messages.js';

/** A durable consumer of the stream: one per node and site. */
export interface ConsumerPosition {
  name: string;
  /** The last stream sequence acknowledged (applied) by it. */
  acked: number;
  /** Messages the stream holds that it has not acknowledged yet. */
  lag: number;
}

export interface ClusterStatus {
  stream: { name: string; messages: number; bytes: number; firstSeq: number; lastSeq: number };
  consumers: ConsumerPosition[];
  /** The nodes that answered on <prefix>.status within the wait. */
  nodes: NodeStatus[];
}

/** The cluster's NATS credentials (cluster.credentials), as connect() options. */
export function natsAuthentication(cluster: Config['cluster']): { authenticator?: Authenticator } {
  return cluster.credentials === '' ? {} : { authenticator: credsAuthenticator(readFileSync(cluster.credentials)) };
}

/** Every durable consumer of `stream` with its applied position and lag, by name. */
export async function consumerPositions(connection: NatsConnection, stream: string): Promise<ConsumerPosition[]> {
  const jsm = await jetstreamManager(connection);
  const consumers: ConsumerPosition[] = [];
  for await (const consumer of jsm.consumers.list(stream)) {
    consumers.push({ name: consumer.name, acked: consumer.ack_floor.stream_seq, lag: consumer.num_pending + consumer.num_ack_pending });
  }
  return consumers.sort((a, b) => a.name.localeCompare(b.name));
}

/** What every running node answers on <prefix>.status within `waitMs`, by name; [] when none runs. */
export async function nodeStatuses(connection: NatsConnection, prefix: string, waitMs: number): Promise<NodeStatus[]> {
  const nodes: NodeStatus[] = [];
  try {
    const replies = await connection.requestMany(subjects(prefix).status, '', { strategy: 'timer', maxWait: waitMs });
    for await (const reply of replies) nodes.push(reply.json<NodeStatus>());
  } catch (error) {
    if (!(error instanceof NoRespondersError)) throw error;
  }
  return nodes.sort((a, b) => a.node.localeCompare(b.node));
}

/** Asks NATS for the stream and every consumer's position, and every node that answers for its own view. */
export async function readClusterStatus(cluster: Config['cluster'], waitMs = 1000): Promise<ClusterStatus> {
  const connection = await connect({
    servers: [...cluster.servers],
    name: 'commons cluster status',
    timeout: 5000,
    ...natsAuthentication(cluster),
  });
  try {
    const { state } = await (await jetstreamManager(connection)).streams.info(cluster.stream);
    return {
      stream: { name: cluster.stream, messages: state.messages, bytes: state.bytes, firstSeq: state.first_seq, lastSeq: state.last_seq },
      consumers: await consumerPositions(connection, cluster.stream),
      nodes: await nodeStatuses(connection, cluster.subject_prefix, waitMs),
    };
  } finally {
    await connection.close();
  }
}
