import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, NoRespondersError } from '@nats-io/transport-node';
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

/** Asks NATS for the stream and every consumer's position, and every node that answers for its own view. */
export async function readClusterStatus(cluster: Config['cluster'], waitMs = 1000): Promise<ClusterStatus> {
  const connection = await connect({
    servers: [...cluster.servers],
    name: 'commons cluster status',
    timeout: 5000,
    ...(cluster.credentials !== '' && { authenticator: credsAuthenticator(readFileSync(cluster.credentials)) }),
  });
  try {
    const jsm = await jetstreamManager(connection);
    const info = await jsm.streams.info(cluster.stream);
    const consumers: ConsumerPosition[] = [];
    for await (const consumer of jsm.consumers.list(cluster.stream)) {
      consumers.push({ name: consumer.name, acked: consumer.ack_floor.stream_seq, lag: consumer.num_pending + consumer.num_ack_pending });
    }
    const nodes: NodeStatus[] = [];
    try {
      const replies = await connection.requestMany(subjects(cluster.subject_prefix).status, '', { strategy: 'timer', maxWait: waitMs });
      for await (const reply of replies) nodes.push(reply.json<NodeStatus>());
    } catch (error) {
      if (!(error instanceof NoRespondersError)) throw error; // no node runs now
    }
    const { state } = info;
    return {
      stream: { name: cluster.stream, messages: state.messages, bytes: state.bytes, firstSeq: state.first_seq, lastSeq: state.last_seq },
      consumers: consumers.sort((a, b) => a.name.localeCompare(b.name)),
      nodes: nodes.sort((a, b) => a.node.localeCompare(b.node)),
    };
  } finally {
    await connection.close();
  }
}
