import * as nip40 from '../nips/nip40.js';
import { mayRead, type ReadRules } from '../policy/read.js';
import { eoseFrame } from '../protocol/frames.js';
import type { PackedAnswer, StoredAnswer } from '../store/stored-answer.js';
import type { CommittedBatch, CommittedEvent } from './committed.js';
import { SubscriptionIndex } from './match.js';
import { Outbox } from './outbox.js';
import type { LiveSubscription } from './subscription.js';

export interface FanoutDeps {
  /** The read rules of the moment (a reload replaces them). */
  readRules(): ReadRules;
  /** Unix seconds (NIP-40: an expired event is not delivered). */
  now(): number;
  /** Counts live frames sent. */
  liveSent(frames: number): void;
}

/**
 * Live delivery: committed events in, frames out per connection. The path of an event:
 * committed batch (committed.ts) → the subscriptions whose filters match it (match.ts) → read rules →
 * held while a subscription's stored answer is read, or queued (outbox.ts) → one corked write per
 * connection, the subscription id spliced in front of the stored JSON.
 *
 * No event is missed or sent twice between the stored answer and live delivery: an answer carries the
 * commit sequence number it was read at, and a subscription gets live only the batches after it.
 */
export class Fanout {
  private readonly live = new SubscriptionIndex<LiveSubscription>();
  private readonly outbox = new Outbox();

  constructor(private readonly deps: FanoutDeps) {}

  /** Subscriptions filed. */
  get size(): number {
    return this.live.size;
  }

  /** Files a subscription whose stored answer is about to be read; what matches meanwhile is held. */
  open(subscription: LiveSubscription): void {
    subscription.held = [];
    this.live.add(subscription);
  }

  close(subscription: LiveSubscription): void {
    this.live.remove(subscription);
    subscription.held = undefined;
  }

  /**
   * Sends a subscription its stored answer, EOSE, then the events held meanwhile that came after the
   * answer's snapshot, in one corked write. Returns how many held events were sent.
   */
  answer(subscription: LiveSubscription, answer: StoredAnswer | PackedAnswer): number {
    const { client, framePrefix, subId } = subscription;
    const held = subscription.held;
    subscription.held = undefined;
    subscription.answeredAt = answer.commitSeq;
    let sent = 0;
    client.batch(() => {
      if ('events' in answer) for (const json of answer.events) client.send(`${framePrefix}${json}]`);
      else {
        let start = 0;
        for (const end of answer.ends) {
          client.send(answer.frames.subarray(start, end));
          start = end;
        }
      }
      client.send(eoseFrame(subId));
      if (held === undefined) return;
      for (const event of held) {
        if (event.commitSeq <= answer.commitSeq) continue; // in the snapshot the answer was read from
        client.send(`${framePrefix}${event.json}]`);
        sent++;
      }
    });
    if (sent > 0) this.deps.liveSent(sent);
    return sent;
  }

  /** A committed batch: each stored event to the subscriptions it matches whose answer came before it. */
  committed(batch: CommittedBatch): void {
    let queued = 0;
    for (const event of batch.events) queued += this.deliver(event, batch.commitSeq);
    if (queued > 0) this.deps.liveSent(queued);
  }

  /** An ephemeral event: never stored, so after every stored answer. */
  ephemeral(event: CommittedEvent): void {
    const queued = this.deliver(event, Number.POSITIVE_INFINITY);
    if (queued > 0) this.deps.liveSent(queued);
  }

  private deliver({ event, json }: CommittedEvent, commitSeq: number): number {
    if (nip40.isExpired(event, this.deps.now())) return 0;
    const readRules = this.deps.readRules();
    let queued = 0;
    for (const subscription of this.live.matching(event)) {
      // Read rules: a restricted kind goes only to connections authenticated as its author or a recipient.
      if (subscription.client.closed || !mayRead(event, readRules, subscription.client.authenticated)) continue;
      if (subscription.held !== undefined) subscription.held.push({ json, commitSeq });
      else if (commitSeq > (subscription.answeredAt ?? 0)) {
        this.outbox.queue(subscription.client, subscription.framePrefix, json);
        queued++;
      }
    }
    return queued;
  }
}
