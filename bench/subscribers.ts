import type { Filter } from 'nostr-tools/filter';
import { Rng, type BenchEvent } from './dataset.js';

type Shape = 'follows' | 'mentions' | 'hashtag' | 'geohash' | 'thread';
const SHAPES: [Shape, number][] = [['follows', 35], ['mentions', 25], ['hashtag', 20], ['geohash', 10], ['thread', 10]];

/**
 * 1–3 filters per subscriber (bench/fanout.ts, bench/memory.ts), values drawn from the dataset so popular
 * authors, mentions and hashtags are subscribed to in proportion to how often they occur.
 */
export function subscriberFilters(events: BenchEvent[], count: number, seed: string): Filter[][] {
  const rng = new Rng(`${seed}:fanout`);
  const tagValues = (name: string, pred: (v: string) => boolean = () => true): string[] =>
    events.flatMap((e) => (e.kind === 3 ? [] : e.tags.filter((t) => t[0] === name && t[1] !== undefined && pred(t[1])).map((t) => t[1] as string)));
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

