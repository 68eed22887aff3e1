import type { Filter } from 'nostr-tools/filter';
import WebSocket from 'ws';
import { Rng, type BenchEvent } from './dataset.js';

type Shape = 'follows' | 'mentions' | 'hashtag' | 'geohash' | 'thread';
const SHAPES: [Shape, number][] = [
  ['follows', 35],
  ['mentions', 25],
  ['hashtag', 20],
  ['geohash', 10],
  ['thread', 10],
];

/**
 * 1–3 filters per subscriber (bench/fanout.ts, bench/memory.ts, bench/soak.ts), values drawn from the dataset so popular
 * authors, mentions and hashtags are subscribed to in proportion to how often they occur.
 */
export function subscriberFilters(events: BenchEvent[], count: number, seed: string): Filter[][] {
  const rng = new Rng(`${seed}:fanout`);
  const tagValues = (name: string, pred: (v: string) => boolean = () => true): string[] =>
    events.flatMap((e) =>
      e.kind === 3 ? [] : e.tags.filter((t) => t[0] === name && t[1] !== undefined && pred(t[1])).map((t) => t[1] as string),
    );
  const pubkeys = events.map((e) => e.pubkey);
  const mentions = tagValues('p');
  const hashtags = tagValues('t');
  const geohashes = tagValues('g', (v) => v.length === 5);
  const threads = tagValues('e');
  const pick = (list: string[]): string => list[rng.int(0, list.length - 1)] as string;
  const totalWeight = SHAPES.reduce((s, [, w]) => s + w, 0);
  const filter = (): Filter => {
    let r = rng.int(0, totalWeight - 1);
    const shape = SHAPES.find(([, w]) => (r -= w) < 0)![0];
    switch (shape) {
      case 'follows':
        return { authors: [...new Set(Array.from({ length: rng.int(1, 5) }, () => pick(pubkeys)))], kinds: [1, 6] };
      case 'mentions':
        return { '#p': [pick(mentions)], kinds: [1, 6, 7, 9735] };
      case 'hashtag':
        return { '#t': [pick(hashtags)], kinds: [1] };
      case 'geohash':
        return { '#g': [pick(geohashes)] };
      case 'thread':
        return { '#e': [pick(threads)] };
    }
  };
  return Array.from({ length: count }, () => Array.from({ length: rng.int(1, 3) }, filter));
}

export interface Subscribers {
  sockets: WebSocket[];
  /** Connections that had no EOSE within 30 s. */
  failed: number;
}

/**
 * Opens one connection per entry of `filters`, each holding one live subscription (`f<first + i>`, the
 * filters with limit 0), at most 200 handshakes in flight so the relay's accept queue is not what is
 * measured. Resolves once each has its EOSE (or gave up after 30 s). `onEvent` gets the subscriber's index
 * and the event id of every EVENT frame; `onClose` every connection that closes.
 */
export async function openSubscribers(
  url: string,
  filters: Filter[][],
  first: number,
  onEvent: (index: number, id: string) => void,
  onClose: () => void = () => {},
): Promise<Subscribers> {
  const sockets: WebSocket[] = [];
  let failed = 0;
  const openOne = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const timer = setTimeout(() => {
        failed++;
        ws.terminate();
        resolve();
      }, 30_000);
      ws.on('open', () => ws.send(JSON.stringify(['REQ', `f${first + i}`, ...filters[i]!.map((f) => ({ ...f, limit: 0 }))])));
      ws.on('message', (data: Buffer) => {
        const at = data.indexOf('"id":"');
        if (at >= 0 && data.subarray(0, 9).toString() === '["EVENT",') {
          onEvent(i, data.toString('latin1', at + 6, at + 70));
        } else if (data.subarray(0, 8).toString() === '["EOSE",') {
          clearTimeout(timer);
          resolve();
        }
      });
      ws.on('error', () => {});
      ws.on('close', () => {
        onClose();
        clearTimeout(timer);
        resolve();
      });
      sockets.push(ws);
    });
  for (let i = 0; i < filters.length; i += 200) await Promise.all(filters.slice(i, i + 200).map((_, j) => openOne(i + j)));
  return { sockets, failed };
}
