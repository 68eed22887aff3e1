/**
 * Live delivery (src/fanout/fanout.ts): a subscription gets its stored answer, EOSE, then exactly the
 * events of the batches after the snapshot its answer was read at — however late the batches arrive.
 */
import { describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { LocalBus, type CommittedBatch, type CommittedEvent } from '../../src/fanout/committed.js';
import { Fanout } from '../../src/fanout/fanout.js';
import type { LiveConnection, LiveSubscription } from '../../src/fanout/subscription.js';
import { compileFilter, type CompiledFilter } from '../../src/filter/compile.js';
import { readRules } from '../../src/policy/read.js';
import { eventFramePrefix } from '../../src/protocol/frames.js';

const NOW = 1_700_000_000;

const committedEvent = (n: number, kind = 1): CommittedEvent => {
  const event: NostrEvent = {
    id: n.toString(16).padStart(64, '0'),
    pubkey: 'a'.repeat(64),
    created_at: NOW - 100 + n,
    kind,
    tags: [],
    content: `#${n}`,
    sig: 'b'.repeat(128),
  };
  return { event, json: JSON.stringify(event) };
};

const batch = (commitSeq: number, ...numbers: number[]): CommittedBatch => ({
  v: 1,
  commitSeq,
  events: numbers.map((n) => committedEvent(n)),
});

/** A connection that records frames; `contents` are the `content` of the EVENT frames and 'EOSE'. */
class RecordingConnection implements LiveConnection {
  readonly authenticated = new Set<string>();
  closed = false;
  readonly frames: string[] = [];
  send(frame: string): void {
    this.frames.push(frame);
  }
  batch(sends: () => void): void {
    sends();
  }
  get contents(): string[] {
    return this.frames.map((frame) => {
      const message = JSON.parse(frame) as [string, string, NostrEvent?];
      return message[0] === 'EOSE' ? 'EOSE' : message[2]!.content;
    });
  }
}

const LIMITS = { max_filter_values: 100, max_limit: 500, default_limit: 500 };
const kinds1 = compileFilter({ kinds: [1] }, LIMITS) as CompiledFilter;

function setUp(): { fanout: Fanout; client: RecordingConnection; subscription: LiveSubscription; sent: number[] } {
  const sent: number[] = [];
  const fanout = new Fanout({ readRules: () => readRules([]), now: () => NOW, liveSent: (frames) => sent.push(frames) });
  const client = new RecordingConnection();
  const subscription: LiveSubscription = { client, subId: 's', filters: [kinds1], framePrefix: eventFramePrefix('s') };
  return { fanout, client, subscription, sent };
}

/** The outbox flushes in a microtask. */
const flushed = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Fanout', () => {
  it('holds what matches while the answer is read; after EOSE sends only the held events of later batches', async () => {
    const { fanout, client, subscription, sent } = setUp();
    fanout.open(subscription);
    fanout.committed(batch(7, 1)); // read by the answer (snapshot 8)
    fanout.committed(batch(8, 2)); // read by the answer
    fanout.committed(batch(9, 3)); // after the snapshot: live
    expect(client.frames).toEqual([]);
    fanout.answer(subscription, { events: [committedEvent(2).json, committedEvent(1).json], commitSeq: 8 });
    expect(client.contents).toEqual(['#2', '#1', 'EOSE', '#3']);
    expect(sent).toEqual([1]);
  });

  it('a batch the answer already read, heard of after EOSE (a late writer reply or bus message), is not sent again', async () => {
    const { fanout, client, subscription } = setUp();
    fanout.open(subscription);
    fanout.answer(subscription, { events: [committedEvent(1).json], commitSeq: 5 });
    fanout.committed(batch(5, 1));
    fanout.committed(batch(6, 2));
    await flushed();
    expect(client.contents).toEqual(['#1', 'EOSE', '#2']);
  });

  it('ephemeral events are never in a stored answer: held ones follow EOSE, later ones go out at once', async () => {
    const { fanout, client, subscription } = setUp();
    const ephemeral = compileFilter({ kinds: [20_001] }, LIMITS) as CompiledFilter;
    const live: LiveSubscription = { ...subscription, filters: [ephemeral] };
    fanout.open(live);
    fanout.ephemeral(committedEvent(1, 20_001));
    fanout.answer(live, { events: [], commitSeq: 3 });
    fanout.ephemeral(committedEvent(2, 20_001));
    await flushed();
    expect(client.contents).toEqual(['EOSE', '#1', '#2']);
  });

  it('a closed subscription gets nothing more, and a closed connection is skipped', async () => {
    const { fanout, client, subscription } = setUp();
    fanout.open(subscription);
    fanout.answer(subscription, { events: [], commitSeq: 0 });
    fanout.close(subscription);
    fanout.committed(batch(1, 1));
    const second = setUp();
    second.fanout.open(second.subscription);
    second.fanout.answer(second.subscription, { events: [], commitSeq: 0 });
    second.client.closed = true;
    second.fanout.committed(batch(1, 1));
    await flushed();
    expect(client.contents).toEqual(['EOSE']);
    expect(second.client.contents).toEqual(['EOSE']);
  });

  it('every event of one batch reaches a connection in one corked write, in commit order', async () => {
    const { fanout, client, subscription } = setUp();
    let corked = 0;
    client.batch = (sends) => {
      corked++;
      sends();
    };
    fanout.open(subscription);
    fanout.answer(subscription, { events: [], commitSeq: 0 });
    corked = 0;
    fanout.committed(batch(1, 1, 2, 3));
    await flushed();
    expect(client.contents).toEqual(['EOSE', '#1', '#2', '#3']);
    expect(corked).toBe(1);
  });
});

describe('LocalBus', () => {
  it('hands each batch to every listener in order, until it unsubscribes, and refuses an unknown version', () => {
    const bus = new LocalBus();
    const heard: string[] = [];
    const stop = bus.subscribe((b) => heard.push(`a${b.commitSeq}`));
    bus.subscribe((b) => heard.push(`b${b.commitSeq}`));
    bus.publish(batch(1, 1));
    stop();
    bus.publish(batch(2, 2));
    expect(heard).toEqual(['a1', 'b1', 'b2']);
    expect(() => bus.publish({ ...batch(3, 3), v: 2 } as unknown as CommittedBatch)).toThrow(/version 2/);
  });
});
