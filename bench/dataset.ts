/**
 * Deterministic benchmark dataset: N signed Nostr events derived from a seed.
 *
 * Everything except the signatures is a pure function of (seed, count, now): keys, kinds, tags,
 * content, created_at and therefore event ids. Schnorr signatures carry fresh auxiliary randomness,
 * so `sig` differs between generations; nothing else depends on it.
 *
 * Ids come from node:crypto's sha256 and signatures from libsecp256k1 (tiny-secp256k1, WASM), on worker
 * threads (one per core) when the dataset is generated ahead with the command below; the signed dataset is still cached as JSONL under bench/.cache/, keyed
 * by seed and count; the first line is a header recording `now`. Run this file directly to fill the
 * cache ahead of time: `npx tsx bench/dataset.ts --count 1000000`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Event } from 'nostr-tools/pure';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { signSchnorr, xOnlyPointFromScalar } from 'tiny-secp256k1';

export type BenchEvent = Pick<Event, 'id' | 'pubkey' | 'created_at' | 'kind' | 'tags' | 'content' | 'sig'>;

/** Bump when the generator changes so stale caches are not reused. */
export const GENERATOR_VERSION = 1;
export const AUTHOR_COUNT = 200;
export const SPAN_SECONDS = 30 * 24 * 3600;
export const MAX_EVENTS = 1_000_000;

export const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '.cache');

export interface DatasetOptions {
  seed: string;
  count: number;
  /** Unix seconds; the newest event has created_at <= now. */
  now: number;
  /** Reuse a cache whose `now` is at most this many seconds older than `now` (default 7 days). */
  maxCacheAgeSeconds?: number;
  /** Require the cache's `now` to equal `now` exactly (when the caller fixed it). */
  exactNow?: boolean;
  cacheDir?: string;
  /** Skip reading and writing the cache. */
  noCache?: boolean;
  /** Progress lines (signing); defaults to stderr. */
  log?: (line: string) => void;
}

export interface Dataset {
  seed: string;
  count: number;
  now: number;
  events: BenchEvent[];
  fromCache: boolean;
  cachePath: string;
}

interface CacheHeader {
  format: 'commons-bench-dataset';
  version: number;
  seed: string;
  count: number;
  now: number;
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** sfc32 seeded from sha256(seed): fast, good enough, reproducible across platforms. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string) {
    const h = sha256(seed);
    this.a = h.readUInt32LE(0);
    this.b = h.readUInt32LE(4);
    this.c = h.readUInt32LE(8);
    this.d = h.readUInt32LE(12);
    for (let i = 0; i < 16; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Log-uniform integer in [lo, hi]: many short values, a long tail of big ones. */
  logInt(lo: number, hi: number): number {
    return Math.min(hi, Math.floor(Math.exp(Math.log(lo) + this.next() * (Math.log(hi + 1) - Math.log(lo)))));
  }

  hex(bytes: number): string {
    let s = '';
    for (let i = 0; i < bytes; i++)
      s += Math.floor(this.next() * 256)
        .toString(16)
        .padStart(2, '0');
    return s;
  }
}

/** Picks index i with probability proportional to 1 / (i + 1)^s (Zipf-like popularity). */
export class Zipf {
  private readonly cumulative: number[];

  constructor(n: number, s: number) {
    let total = 0;
    this.cumulative = [];
    for (let i = 0; i < n; i++) {
      total += 1 / (i + 1) ** s;
      this.cumulative.push(total);
    }
    for (let i = 0; i < n; i++) this.cumulative[i] = (this.cumulative[i] as number) / total;
  }

  sample(rng: Rng): number {
    const x = rng.next();
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulative[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

const WORDS = (
  'the a of and to in is it you that for on was with as have be at one this from by not but what all were ' +
  'when we there can an your which their said if do will each about how up out them then she many some so ' +
  'these would other into has more her two like him see time could no make than first been its who now people ' +
  'my made over did down only way find use may water long little very after words called just where most know ' +
  'relay nostr zap note client key event signal bitcoin lightning garden bread coffee morning market river ' +
  'bridge neighbour library bicycle festival concert rain sunshine mountain harbour community meetup music ' +
  'photo walk dinner recipe project release update bug fix feature design protocol decentral open source'
).split(' ');

const EMOJI = ['🤙', '💜', '🔥', '☕', '🌧️', '🚲', '⚡', '🎉', '🙏', '😂', '🌍', '🍞'];
const REACTIONS = ['+', '+', '+', '+', '🤙', '💜', '🔥', '-', '⚡', '😂'];

export const HASHTAGS = (
  'nostr bitcoin zaps photography art music coffee food garden cycling running hiking travel books ' +
  'programming typescript rust linux selfhosting privacy freedom meetup berlin lisbon tokyo nairobi ' +
  'saopaulo weather news memes dogs cats plebchain grownostr introductions asknostr foodstr ' +
  'streetphotography bookstr devstr permaculture chess football cinema podcasts design climate'
).split(' ');

/** Places whose geohashes the dataset tags (NIP-52 style: several precisions of one location). */
const PLACES: ReadonlyArray<readonly [string, number, number]> = [
  ['berlin', 52.52, 13.405],
  ['lisbon', 38.722, -9.139],
  ['tokyo', 35.6762, 139.6503],
  ['nairobi', -1.2921, 36.8219],
  ['sao-paulo', -23.5505, -46.6333],
  ['new-york', 40.7128, -74.006],
  ['austin', 30.2672, -97.7431],
  ['buenos-aires', -34.6037, -58.3816],
  ['lagos', 6.5244, 3.3792],
  ['amsterdam', 52.3676, 4.9041],
  ['seoul', 37.5665, 126.978],
  ['melbourne', -37.8136, 144.9631],
  ['vancouver', 49.2827, -123.1207],
  ['zurich', 47.3769, 8.5417],
  ['mexico-city', 19.4326, -99.1332],
  ['bangkok', 13.7563, 100.5018],
];

const RELAY_URLS = [
  'wss://relay.example.org',
  'wss://nos.example.com',
  'wss://relay.commons.example',
  'wss://eu.relay.example',
  'wss://purple.example.net',
  'wss://community.example.io',
  'wss://local.example.social',
  'wss://archive.example.dev',
];

const GEOHASH_ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz';

export function geohashEncode(lat: number, lon: number, precision: number): string {
  let latLo = -90;
  let latHi = 90;
  let lonLo = -180;
  let lonHi = 180;
  let even = true;
  let bit = 0;
  let ch = 0;
  let out = '';
  while (out.length < precision) {
    if (even) {
      const mid = (lonLo + lonHi) / 2;
      if (lon >= mid) {
        ch = (ch << 1) | 1;
        lonLo = mid;
      } else {
        ch <<= 1;
        lonHi = mid;
      }
    } else {
      const mid = (latLo + latHi) / 2;
      if (lat >= mid) {
        ch = (ch << 1) | 1;
        latLo = mid;
      } else {
        ch <<= 1;
        latHi = mid;
      }
    }
    even = !even;
    if (++bit === 5) {
      out += GEOHASH_ALPHABET[ch];
      bit = 0;
      ch = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Content

/** Prose of roughly `target` characters (within [min, max]) with paragraphs, quotes, emoji. */
function prose(rng: Rng, target: number, min = 20, max = 2000, tags: string[] = []): string {
  target = Math.max(min, Math.min(target, max - 40));
  const parts: string[] = [];
  let len = 0;
  let sentenceStart = true;
  while (len < target) {
    let w = rng.pick(WORDS);
    if (sentenceStart) w = w.charAt(0).toUpperCase() + w.slice(1);
    sentenceStart = false;
    const r = rng.next();
    if (r < 0.01) w = `"${w}"`;
    else if (r < 0.015)
      w = `${w}\\${rng.pick(WORDS)}`; // backslash: exercises escaping
    else if (r < 0.03) w = rng.pick(EMOJI);
    else if (r < 0.035) w = `https://example.com/${rng.hex(4)}`;
    let sep = ' ';
    if (rng.chance(0.08)) {
      w += rng.pick(['.', '.', '.', '!', '?']);
      sentenceStart = true;
      if (rng.chance(0.15)) sep = rng.chance(0.9) ? '\n\n' : '\n\t';
    }
    parts.push(w, sep);
    len += w.length + sep.length;
  }
  let text = parts.join('').trimEnd();
  for (const t of tags) {
    if (text.length + t.length + 2 > max) break;
    text += ` #${t}`;
  }
  while (text.length < min) text += ' ok';
  return text;
}

// ---------------------------------------------------------------------------------------------
// Generation

interface Author {
  sk: Uint8Array;
  pubkey: string;
}

/** Secret key i = sha256(seed + ":" + i), re-hashed in the (astronomically unlikely) invalid case. */
export function deriveAuthors(seed: string, n = AUTHOR_COUNT): Author[] {
  const authors: Author[] = [];
  for (let i = 0; i < n; i++) {
    let material = `${seed}:${i}`;
    for (let attempt = 0; attempt < 8; attempt++) {
      const sk = new Uint8Array(sha256(material));
      try {
        authors.push({ sk, pubkey: Buffer.from(xOnlyPointFromScalar(sk)).toString('hex') });
        break;
      } catch {
        material = `${material}:again`;
      }
    }
    if (authors.length !== i + 1) throw new Error(`could not derive a key for author ${i}`);
  }
  return authors;
}

interface Ref {
  id: string;
  pubkey: string;
  kind: number;
}

interface Template {
  kind: number;
  created_at: number;
  tags: string[][];
  content: string;
}

const MAX_TAGS = 20;

function capTags(tags: string[][]): string[][] {
  return tags.length > MAX_TAGS ? tags.slice(0, MAX_TAGS) : tags;
}

/** Optional hashtag and geohash tags for a note; returns the hashtags used (for the content). */
function topicTags(rng: Rng, tagZipf: Zipf, tags: string[][]): string[] {
  const hashtags: string[] = [];
  if (rng.chance(0.35)) {
    const n = rng.int(1, 4);
    for (let i = 0; i < n; i++) {
      const t = HASHTAGS[tagZipf.sample(rng)] as string;
      if (!hashtags.includes(t)) hashtags.push(t);
    }
    for (const t of hashtags) tags.push(['t', t]);
  }
  if (rng.chance(0.1)) {
    const [, lat, lon] = rng.pick(PLACES);
    const gh = geohashEncode(lat + (rng.next() - 0.5) * 0.2, lon + (rng.next() - 0.5) * 0.2, 9);
    for (const p of [4, 5, 6, 7, 9]) tags.push(['g', gh.slice(0, p)]);
  }
  return hashtags;
}

class Generator {
  private readonly rng: Rng;
  private readonly authorZipf: Zipf;
  private readonly tagZipf: Zipf;
  private readonly threadZipf = new Zipf(300, 1.1);
  /** Recent kind-1 notes (newest last) that replies, reactions and reposts point at. */
  private readonly notes: Ref[] = [];
  /** Thread roots (kind-1 notes without e tags), newest last. */
  private readonly roots: Ref[] = [];
  private readonly articles: Array<Ref & { d: string }> = [];
  private readonly comments: Ref[] = [];
  private readonly start: number;

  constructor(
    seed: string,
    private readonly authors: Author[],
    private readonly count: number,
    private readonly now: number,
  ) {
    this.rng = new Rng(`${seed}:dataset`);
    this.authorZipf = new Zipf(authors.length, 0.9);
    this.tagZipf = new Zipf(HASHTAGS.length, 1.0);
    this.start = now - SPAN_SECONDS;
    this.profileCount = Math.min(authors.length, Math.floor(count / 10));
  }

  author(): Author {
    return this.authors[this.authorZipf.sample(this.rng)] as Author;
  }

  private recent<T>(list: T[], window = 300): T | undefined {
    if (list.length === 0) return undefined;
    const back = Math.min(list.length - 1, this.threadZipf.sample(this.rng) % window);
    return list[list.length - 1 - back];
  }

  /** Chronological order with jitter: replaceable updates and replies mostly follow their targets. */
  private createdAt(i: number): number {
    const base = this.start + Math.floor(((i + 1) * SPAN_SECONDS) / this.count);
    return Math.min(this.now, base - this.rng.int(0, 300));
  }

  /** The first events are every author's profile, so profile queries always find something. */
  readonly profileCount: number;

  template(i: number, author: Author): Template {
    const rng = this.rng;
    const created_at = this.createdAt(i);
    const r = rng.next();
    // Kind mix (20k events): 1 ≈ 61%, 7 ≈ 14%, 6 ≈ 7%, 0 ≈ 5% (incl. first profiles), 1111 ≈ 5%,
    // 30023 ≈ 3%, 3 ≈ 3%, 10002 ≈ 2%.
    // Until there is something to react to or comment on, those fall back to kind 1.
    if (r < 0.04 || i < this.profileCount) return this.metadata(author, created_at);
    if (r < 0.07) return this.contacts(author, created_at);
    if (r < 0.09) return this.relayList(created_at);
    if (r < 0.12) return this.article(created_at);
    if (r < 0.17 && this.articles.length > 0) return this.comment(created_at);
    if (r < 0.31 && this.notes.length > 0) return this.reaction(created_at);
    if (r < 0.38 && this.notes.length > 0) return this.repost(created_at);
    return this.note(created_at);
  }

  private metadata(author: Author, created_at: number): Template {
    const rng = this.rng;
    const name = `${rng.pick(WORDS)}_${author.pubkey.slice(0, 6)}`;
    const meta: Record<string, string> = {
      name,
      display_name: name.replace('_', ' '),
      about: prose(rng, rng.logInt(20, 600), 1, 1200),
      picture: `https://example.com/avatars/${author.pubkey.slice(0, 16)}.png`,
    };
    if (rng.chance(0.5)) meta.nip05 = `${name}@example.com`;
    if (rng.chance(0.3)) meta.lud16 = `${name}@wallet.example.com`;
    return { kind: 0, created_at, tags: [], content: JSON.stringify(meta) };
  }

  private contacts(author: Author, created_at: number): Template {
    const rng = this.rng;
    // Most follow lists are modest; a fifth have hundreds of entries.
    const n = rng.chance(0.2) ? rng.int(200, 900) : rng.int(5, 150);
    const tags: string[][] = [];
    const seen = new Set<string>([author.pubkey]);
    for (let k = 0; k < n; k++) {
      // Follow known authors most of the time, otherwise strangers' keys.
      const pk = rng.chance(0.6) ? this.author().pubkey : rng.hex(32);
      if (seen.has(pk)) continue;
      seen.add(pk);
      tags.push(rng.chance(0.1) ? ['p', pk, rng.pick(RELAY_URLS)] : ['p', pk]);
    }
    return { kind: 3, created_at, tags, content: '' };
  }

  private relayList(created_at: number): Template {
    const rng = this.rng;
    const n = rng.int(2, 6);
    const urls = new Set<string>();
    while (urls.size < n) urls.add(rng.pick(RELAY_URLS));
    const tags = [...urls].map((u) => {
      const mode = rng.next();
      return mode < 0.6 ? ['r', u] : mode < 0.8 ? ['r', u, 'read'] : ['r', u, 'write'];
    });
    return { kind: 10002, created_at, tags, content: '' };
  }

  private article(created_at: number): Template {
    const rng = this.rng;
    const title = prose(rng, rng.int(20, 60), 10, 80).split('\n')[0] as string;
    const d = `${title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 40)}-${rng.hex(3)}`;
    const tags: string[][] = [
      ['d', d],
      ['title', title],
      ['summary', prose(rng, rng.int(20, 150), 20, 200).replace(/\s+/g, ' ')],
      ['published_at', String(created_at - rng.int(0, 3600))],
    ];
    const hashtags = topicTags(rng, this.tagZipf, tags);
    const body = `# ${title}\n\n${prose(rng, rng.logInt(300, 1900), 200, 1900 - title.length)}`;
    return { kind: 30023, created_at, tags: capTags(tags), content: withTags(body, hashtags) };
  }

  private comment(created_at: number): Template {
    const rng = this.rng;
    const article = this.recent(this.articles, 50) as Ref & { d: string };
    const address = `30023:${article.pubkey}:${article.d}`;
    const tags: string[][] = [
      ['A', address, rng.pick(RELAY_URLS)],
      ['K', '30023'],
      ['P', article.pubkey],
    ];
    const parent = rng.chance(0.4) ? this.recent(this.comments, 50) : undefined;
    if (parent) tags.push(['e', parent.id, rng.pick(RELAY_URLS), parent.pubkey], ['k', '1111'], ['p', parent.pubkey]);
    else tags.push(['a', address, rng.pick(RELAY_URLS)], ['k', '30023'], ['p', article.pubkey]);
    return { kind: 1111, created_at, tags, content: prose(rng, rng.logInt(20, 800)) };
  }

  private reaction(created_at: number): Template {
    const rng = this.rng;
    const target = this.recent(this.notes) as Ref;
    const tags = [
      ['e', target.id, rng.pick(RELAY_URLS), target.pubkey],
      ['p', target.pubkey],
      ['k', String(target.kind)],
    ];
    return { kind: 7, created_at, tags, content: rng.pick(REACTIONS) };
  }

  private repost(created_at: number): Template {
    const rng = this.rng;
    const target = this.recent(this.notes) as Ref;
    // NIP-18 recommends embedding the reposted JSON; it would embed a (random) signature and make
    // ids non-deterministic, so reposts carry empty content.
    const tags = [
      ['e', target.id, rng.pick(RELAY_URLS)],
      ['p', target.pubkey],
    ];
    return { kind: 6, created_at, tags, content: '' };
  }

  private note(created_at: number): Template {
    const rng = this.rng;
    const tags: string[][] = [];
    const root = rng.chance(0.4) ? this.recent(this.roots) : undefined;
    if (root) {
      const parent = rng.chance(0.5) ? this.recent(this.notes, 50) : undefined;
      tags.push(['e', root.id, rng.pick(RELAY_URLS), 'root', root.pubkey]);
      if (parent && parent.id !== root.id) tags.push(['e', parent.id, rng.pick(RELAY_URLS), 'reply', parent.pubkey]);
      const mentioned = new Set([root.pubkey, parent?.pubkey ?? root.pubkey]);
      const extra = rng.int(0, 4);
      for (let k = 0; k < extra; k++) mentioned.add(this.author().pubkey);
      for (const pk of mentioned) tags.push(['p', pk]);
    } else if (rng.chance(0.1)) {
      tags.push(['p', this.author().pubkey]);
    }
    const hashtags = topicTags(rng, this.tagZipf, tags);
    const content = withTags(prose(rng, rng.logInt(20, 2000), 20, 1960), hashtags);
    return { kind: 1, created_at, tags: capTags(tags), content };
  }

  /** Record a signed event so later events can point at it. */
  remember(ev: BenchEvent): void {
    const ref: Ref = { id: ev.id, pubkey: ev.pubkey, kind: ev.kind };
    if (ev.kind === 1) {
      push(this.notes, ref);
      if (!ev.tags.some((t) => t[0] === 'e')) push(this.roots, ref);
    } else if (ev.kind === 30023) {
      const d = ev.tags.find((t) => t[0] === 'd')?.[1] ?? '';
      push(this.articles, { ...ref, d });
    } else if (ev.kind === 1111) {
      push(this.comments, ref);
    }
  }
}

function withTags(text: string, hashtags: string[]): string {
  let out = text;
  for (const t of hashtags) if (out.length + t.length + 2 <= 2000) out += ` #${t}`;
  return out;
}

/** Bounded history: keep the newest 2,000 entries. */
function push<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > 4000) list.splice(0, 2000);
}

/** Generates and signs on this thread. */
export function generateEvents(seed: string, count: number, now: number, log?: (line: string) => void): BenchEvent[] {
  const { events, authors } = generateUnsignedWithIds(seed, count, now);
  const keys = new Map(authors.map((a) => [a.pubkey, a.sk]));
  const t0 = Date.now();
  let lastLog = t0;
  events.forEach((ev, i) => {
    sign(ev, keys.get(ev.pubkey)!);
    const nowMs = Date.now();
    if (log && (nowMs - lastLog >= 1000 || i + 1 === count)) {
      lastLog = nowMs;
      const rate = (i + 1) / Math.max(0.001, (nowMs - t0) / 1000);
      log(`  signed ${i + 1}/${count} (${rate.toFixed(0)}/s, ~${((count - i - 1) / rate).toFixed(0)}s left)`);
    }
  });
  return events;
}

/** Everything but the signatures (sig ''), in order: templates depend on earlier ids, never on signatures. */
function generateUnsignedWithIds(seed: string, count: number, now: number): { events: BenchEvent[]; authors: Author[] } {
  if (!Number.isInteger(count) || count < 1 || count > MAX_EVENTS) throw new Error(`count must be 1..${MAX_EVENTS}`);
  const authors = deriveAuthors(seed);
  const gen = new Generator(seed, authors, count, now);
  const events: BenchEvent[] = [];
  for (let i = 0; i < count; i++) {
    // Every author publishes a profile first; afterwards activity follows a Zipf popularity curve.
    const author = i < gen.profileCount ? (authors[i] as Author) : gen.author();
    const t = gen.template(i, author);
    const ev = withId(t, author);
    gen.remember(ev);
    events.push(ev);
  }
  return { events, authors };
}

/** NIP-01 id: sha256 of the canonical serialisation. The signature is added separately (sig ''). */
function withId(t: Template, author: Author): BenchEvent {
  const hash = createHash('sha256')
    .update(JSON.stringify([0, author.pubkey, t.created_at, t.kind, t.tags, t.content]))
    .digest('hex');
  return { id: hash, pubkey: author.pubkey, created_at: t.created_at, kind: t.kind, tags: t.tags, content: t.content, sig: '' };
}

/** BIP-340 signature over the id, with fresh auxiliary randomness (libsecp256k1 in WASM). */
export function sign(ev: BenchEvent, sk: Uint8Array): void {
  ev.sig = Buffer.from(signSchnorr(Buffer.from(ev.id, 'hex'), sk, randomBytes(32))).toString('hex');
}

/** Worker body: signs batches of (id ‖ secret key) records; plain JS so it runs without tsx. */
const SIGN_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { randomBytes } = require('node:crypto');
import(workerData.secp).then(({ signSchnorr }) => {
  parentPort.on('message', (records) => {
    const count = records.length / 64;
    const sigs = new Uint8Array(count * 64);
    for (let i = 0; i < count; i++) {
      sigs.set(signSchnorr(records.subarray(i * 64, i * 64 + 32), records.subarray(i * 64 + 32, i * 64 + 64), randomBytes(32)), i * 64);
    }
    parentPort.postMessage(sigs, [sigs.buffer]);
  });
});
`;

/** Signs `events` (ids already set) on `threads` worker threads, in batches; for the 1M-event cache. */
export async function signInParallel(
  events: BenchEvent[],
  authors: Author[],
  threads: number,
  log?: (line: string) => void,
): Promise<void> {
  const keys = new Map(authors.map((a) => [a.pubkey, a.sk]));
  const BATCH = 2000;
  let next = 0;
  let done = 0;
  const t0 = Date.now();
  const run = async (): Promise<void> => {
    const worker = new Worker(SIGN_WORKER, { eval: true, workerData: { secp: import.meta.resolve('tiny-secp256k1') } });
    try {
      while (next < events.length) {
        const start = next;
        const end = Math.min(events.length, start + BATCH);
        next = end;
        const records = new Uint8Array((end - start) * 64);
        for (let i = start; i < end; i++) {
          records.set(Buffer.from(events[i]!.id, 'hex'), (i - start) * 64);
          records.set(keys.get(events[i]!.pubkey)!, (i - start) * 64 + 32);
        }
        const sigs = await new Promise<Uint8Array>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.postMessage(records, [records.buffer]);
        });
        worker.removeAllListeners('error');
        const bytes = Buffer.from(sigs.buffer, sigs.byteOffset, sigs.byteLength);
        for (let i = start; i < end; i++) events[i]!.sig = bytes.toString('hex', (i - start) * 64, (i - start + 1) * 64);
        done += end - start;
        log?.(`  signed ${done}/${events.length} (${(done / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(0)}/s)`);
      }
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, threads) }, run));
}

// ---------------------------------------------------------------------------------------------
// Cache (streamed line by line: 1M events is ~1 GB, more than one JS string may hold)

export function cachePathFor(seed: string, count: number, cacheDir = CACHE_DIR): string {
  const key = sha256(seed).toString('hex').slice(0, 12);
  return join(cacheDir, `dataset-v${GENERATOR_VERSION}-${key}-${count}.jsonl`);
}

function readCache(path: string, seed: string, count: number): { now: number; events: BenchEvent[] } | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const lines = readLines(path);
    const first: IteratorResult<string> = lines.next();
    const header = JSON.parse(first.done === true ? '' : first.value) as CacheHeader;
    if (
      header.format !== 'commons-bench-dataset' ||
      header.version !== GENERATOR_VERSION ||
      header.seed !== seed ||
      header.count !== count
    ) {
      return undefined;
    }
    const events: BenchEvent[] = [];
    for (const line of lines) {
      if (events.length === count) break;
      if (line.length > 0) events.push(JSON.parse(line) as BenchEvent);
    }
    if (events.length !== count) return undefined;
    return { now: header.now, events };
  } catch {
    return undefined;
  }
}

function* readLines(path: string): IterableIterator<string> {
  const bytes = readFileSync(path);
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    yield bytes.toString('utf8', start, end);
    start = end + 1;
  }
}

function writeCache(path: string, header: CacheHeader, events: BenchEvent[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(header)}\n`);
    for (let i = 0; i < events.length; i += 10_000) {
      writeSync(
        fd,
        events
          .slice(i, i + 10_000)
          .map((e) => `${JSON.stringify(e)}\n`)
          .join(''),
      );
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Load the dataset from cache when it is fresh enough, otherwise generate, sign and cache it. */
export function loadDataset(opts: DatasetOptions): Dataset {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const maxAge = opts.maxCacheAgeSeconds ?? 7 * 24 * 3600;
  const cachePath = cachePathFor(opts.seed, opts.count, opts.cacheDir);
  if (!opts.noCache) {
    const cached = readCache(cachePath, opts.seed, opts.count);
    if (cached) {
      const age = opts.now - cached.now;
      const fresh = opts.exactNow ? cached.now === opts.now : age >= 0 && age <= maxAge;
      if (fresh) {
        log(`dataset: ${opts.count} events from cache ${cachePath} (now=${cached.now})`);
        return { seed: opts.seed, count: opts.count, now: cached.now, events: cached.events, fromCache: true, cachePath };
      }
      log(`dataset: cache ${cachePath} was made for now=${cached.now}; regenerating for now=${opts.now}`);
    }
  }
  log(`dataset: signing ${opts.count} events (seed "${opts.seed}", ${AUTHOR_COUNT} authors)…`);
  const events = generateEvents(opts.seed, opts.count, opts.now, log);
  if (!opts.noCache) {
    writeCache(
      cachePath,
      { format: 'commons-bench-dataset', version: GENERATOR_VERSION, seed: opts.seed, count: opts.count, now: opts.now },
      events,
    );
    log(`dataset: cached at ${cachePath}`);
  }
  return { seed: opts.seed, count: opts.count, now: opts.now, events, fromCache: false, cachePath };
}

// ---------------------------------------------------------------------------------------------
// Unsigned variant (query benchmarks: signatures are never checked when reading)

/** An all-zero signature: the events are never verified, only stored and queried. */
export const UNSIGNED_SIG = '0'.repeat(128);

/**
 * The same deterministic events as generateEvents (same kinds, tags, content, created_at, ids) with
 * UNSIGNED_SIG instead of a signature, yielded one at a time: ~100x faster, for databases built
 * directly through the store (bench/query-db.ts), never for a relay that verifies signatures.
 */
export function* generateUnsignedEvents(seed: string, count: number, now: number): IterableIterator<BenchEvent> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_EVENTS) throw new Error(`count must be 1..${MAX_EVENTS}`);
  const authors = deriveAuthors(seed);
  const gen = new Generator(seed, authors, count, now);
  for (let i = 0; i < count; i++) {
    const author = i < gen.profileCount ? (authors[i] as Author) : gen.author();
    const t = gen.template(i, author);
    const id = createHash('sha256')
      .update(JSON.stringify([0, author.pubkey, t.created_at, t.kind, t.tags, t.content]))
      .digest('hex');
    const ev: BenchEvent = {
      id,
      pubkey: author.pubkey,
      created_at: t.created_at,
      kind: t.kind,
      tags: t.tags,
      content: t.content,
      sig: UNSIGNED_SIG,
    };
    gen.remember(ev);
    yield ev;
  }
}

/**
 * `npx tsx bench/dataset.ts --count N [--seed S] [--now T]`: generates the dataset, signing on one worker
 * thread per core, and writes the cache the other benches read (load.ts, import and start-up).
 */
async function fillCache(): Promise<void> {
  const arg = (name: string): string | undefined => {
    const at = process.argv.indexOf(`--${name}`);
    return at < 0 ? undefined : process.argv[at + 1];
  };
  const seed = arg('seed') ?? 'commons-bench';
  const count = Number(arg('count') ?? 20_000);
  const now = arg('now') === undefined ? Math.floor(Date.now() / 1000) - 60 : Number(arg('now'));
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const t0 = Date.now();
  const { events, authors } = generateUnsignedWithIds(seed, count, now);
  log(`dataset: ${count} events generated in ${((Date.now() - t0) / 1000).toFixed(1)} s; signing…`);
  let lastLog = 0;
  await signInParallel(events, authors, availableParallelism(), (line) => {
    if (Date.now() - lastLog >= 2000) log(line);
    lastLog = Date.now();
  });
  log(`dataset: signed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const path = cachePathFor(seed, count);
  writeCache(path, { format: 'commons-bench-dataset', version: GENERATOR_VERSION, seed, count, now }, events);
  process.stdout.write(`${path}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await fillCache();
