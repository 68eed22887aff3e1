/**
 * What a failing cluster test prints besides the nodes' logs: the stream's state, each durable consumer's
 * delivered/acknowledged positions, each node's answer on <prefix>.status, and which stream messages hold
 * the events a node is missing. Read over a NATS connection of its own; every call bounded.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** A durable consumer's positions: stream sequences delivered and acknowledged, and how many wait for an ack. */
export async function consumerPositions(
  natsUrl: string,
  consumer: string,
  stream = 'COMMONS',
): Promise<{ delivered: number; ackFloor: number; ackPending: number }> {
  const nc = await connect({ servers: natsUrl, timeout: 5000, reconnect: false });
  try {
    const info = await (await jetstreamManager(nc, { timeout: 5000 })).consumers.info(stream, consumer);
    return { delivered: info.delivered.stream_seq, ackFloor: info.ack_floor.stream_seq, ackPending: info.num_ack_pending };
  } finally {
    await nc.close().catch(() => {});
  }
}

/** Stream messages scanned at most when looking for missing ids. */
const MAX_SCANNED = 5000;

export async function clusterDiagnostics(
  natsUrl: string,
  options: { stream?: string; prefix?: string; missing?: readonly string[] } = {},
): Promise<string> {
  const stream = options.stream ?? 'COMMONS';
  const lines: string[] = [];
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    nc = await connect({ servers: natsUrl, timeout: 5000, reconnect: false });
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    const info = await jsm.streams.info(stream);
    lines.push(`stream ${stream}: ${JSON.stringify(info.state)}`);
    for await (const consumer of jsm.consumers.list(stream)) {
      const { name, delivered, ack_floor, num_ack_pending, num_redelivered, num_pending } = consumer;
      const position = { delivered: delivered.stream_seq, ack_floor: ack_floor.stream_seq, num_ack_pending, num_redelivered, num_pending };
      lines.push(`consumer ${name}: ${JSON.stringify(position)}`);
    }
    const statuses = await nc.requestMany(`${options.prefix ?? 'commons'}.status`, '', { maxWait: 1000 });
    for await (const message of statuses) lines.push(`status: ${message.string()}`);
    const missing = new Set(options.missing ?? []);
    if (missing.size > 0) {
      const holders: string[] = [];
      const last = Math.min(info.state.last_seq, info.state.first_seq + MAX_SCANNED - 1);
      for (let seq = info.state.first_seq; seq <= last; seq++) {
        const message = await jsm.streams.getMessage(stream, { seq });
        if (message === null) continue;
        const batch = message.json<{ node: string; events: [string, ...unknown[]][] }>();
        const held = batch.events.filter(([json]) => missing.has((JSON.parse(json) as { id: string }).id)).length;
        if (held > 0) holders.push(`seq ${seq} (from ${batch.node}, ${message.time.toISOString()}): ${held} of ${batch.events.length}`);
      }
      lines.push(`stream messages holding the ${missing.size} missing events: ${holders.join('; ') || 'none'}`);
    }
  } catch (error) {
    lines.push(`diagnostics incomplete: ${(error as Error).message}`);
  } finally {
    await nc?.close().catch(() => {});
  }
  return lines.join('\n');
}
