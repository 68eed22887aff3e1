import { createHash, randomBytes } from 'node:crypto';
import { nip77 } from 'nostr-tools';

const { Negentropy, NegentropyStorageVector } = nip77;
import { describe, expect, it } from 'vitest';
import { buildStorage, encodeVarInt, NegProtocolError, NegStorage, NegStorageBuilder, reconcile } from '../../src/nips/nip77.js';
import { SharedBudget } from '../../src/worker/shared-budget.js';

type Item = [number, string];

function items(n: number, base = 1_700_000_000, spread = 1000): Item[] {
  return Array.from({ length: n }, () => [base + Math.floor(Math.random() * spread), randomBytes(32).toString('hex')] as Item);
}

const sorted = (list: Item[]): Item[] => [...list].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));

function relayStorage(list: Item[]): NegStorage {
  return NegStorage.fromRows(sorted(list).map(([t, id]) => [t, Buffer.from(id, 'hex')] as const));
}

/** Runs nostr-tools' initiator against our responder; returns need/have and the number of rounds. */
function sync(
  relay: Item[],
  client: Item[],
  frameSizeLimit = 60000,
): { need: Set<string>; have: Set<string>; rounds: number; maxHex: number } {
  const server = relayStorage(relay);
  const vector = new NegentropyStorageVector();
  for (const [t, id] of client) vector.insert(t, id);
  vector.seal();
  const neg = new Negentropy(vector, 60000);
  const need = new Set<string>();
  const have = new Set<string>();
  let message: string | null = neg.initiate();
  let rounds = 0;
  let maxHex = 0;
  while (message !== null) {
    const reply = reconcile(server, message, frameSizeLimit);
    expect(reply.type).toBe('reply');
    maxHex = Math.max(maxHex, reply.message.length);
    rounds++;
    if (rounds > 1000) throw new Error('no convergence');
    message = neg.reconcile(
      reply.message,
      (id) => have.add(id),
      (id) => need.add(id),
    );
  }
  return { need, have, rounds, maxHex };
}

describe('NIP-77 responder against nostr-tools initiator', () => {
  it('{A,B,C} vs {B,D} → need {A,C}, have {D}', () => {
    const [a, b, c, d] = items(4);
    const result = sync([a!, b!, c!], [b!, d!]);
    expect(result.need).toEqual(new Set([a![1], c![1]]));
    expect(result.have).toEqual(new Set([d![1]]));
  });

  it('empty sides', () => {
    expect(sync([], []).need.size).toBe(0);
    const relay = items(100);
    expect(sync(relay, []).need).toEqual(new Set(relay.map((i) => i[1])));
    const client = items(100);
    expect(sync([], client).have).toEqual(new Set(client.map((i) => i[1])));
  });

  it('many items with equal timestamps and a small frame size limit', () => {
    const common = items(5000, 1_700_000_000, 20);
    const onlyRelay = items(700, 1_700_000_000, 20);
    const onlyClient = items(600, 1_700_000_000, 20);
    const result = sync([...common, ...onlyRelay], [...common, ...onlyClient], 4096);
    expect(result.need).toEqual(new Set(onlyRelay.map((i) => i[1])));
    expect(result.have).toEqual(new Set(onlyClient.map((i) => i[1])));
    expect(result.maxHex).toBeLessThanOrEqual(2 * 4096);
  });

  it('unsupported version → "61"; malformed → NegProtocolError', () => {
    const s = relayStorage(items(3));
    expect(reconcile(s, '62aabbccddeeff', 60000)).toEqual({ type: 'unsupported-version', message: '61' });
    expect(() => reconcile(s, 'zz', 60000)).toThrow(NegProtocolError);
    expect(() => reconcile(s, '6100', 60000)).toThrow(NegProtocolError);
    expect(() => reconcile(s, '', 60000)).toThrow(NegProtocolError);
  });

  it('fingerprint of an empty set matches the reference', () => {
    expect(reconcile(relayStorage([]), '610000017f9c9e31ac8256ca2f258583df262dbc', 60000)).toEqual({ type: 'reply', message: '61' });
  });
});

describe('NegStorage', () => {
  /** The fingerprint by the book: the ids summed as 256-bit little-endian integers, then SHA-256 with the count. */
  function naiveFingerprint(ids: string[]): string {
    let sum = 0n;
    for (const id of ids) sum += BigInt(`0x${Buffer.from(id, 'hex').reverse().toString('hex')}`);
    sum %= 2n ** 256n;
    const bytes = Buffer.from(sum.toString(16).padStart(64, '0'), 'hex').reverse();
    return createHash('sha256').update(bytes).update(encodeVarInt(ids.length)).digest().subarray(0, 16).toString('hex');
  }

  it('fingerprints every range like the naive sum, across the sparse prefix blocks', () => {
    const list = sorted(items(300));
    const storage = relayStorage(list);
    const ids = list.map(([, id]) => id);
    const ranges: [number, number][] = [
      [0, 0],
      [0, 300],
      [0, 31],
      [0, 32],
      [0, 33],
      [31, 97],
      [32, 64],
      [5, 6],
      [64, 300],
      [299, 300],
      [100, 165],
      [1, 299],
    ];
    for (let i = 0; i < 40; i++) {
      const a = Math.floor(Math.random() * 301);
      const b = Math.floor(Math.random() * 301);
      ranges.push([Math.min(a, b), Math.max(a, b)]);
    }
    for (const [begin, end] of ranges) {
      expect(Buffer.from(storage.fingerprint(begin, end)).toString('hex'), `[${begin}, ${end})`).toBe(
        naiveFingerprint(ids.slice(begin, end)),
      );
    }
  });

  it('carries across lanes: ids of all 0xff bytes', () => {
    const ids = Array.from({ length: 70 }, () => 'ff'.repeat(32));
    const storage = NegStorage.fromRows(ids.map((id, i) => [i, Buffer.from(id, 'hex')] as const));
    for (const [begin, end] of [
      [0, 70],
      [3, 69],
      [0, 2],
    ] as const) {
      expect(Buffer.from(storage.fingerprint(begin, end)).toString('hex')).toBe(naiveFingerprint(ids.slice(begin, end)));
    }
  });

  it('a builder fed hex rows equals fromRows; parts() round-trip; about 41 bytes per record', () => {
    const list = sorted(items(5000));
    const builder = new NegStorageBuilder();
    for (const [t, id] of list) builder.add(t, id.toUpperCase());
    const built = builder.finish();
    const reference = relayStorage(list);
    expect(built.size).toBe(5000);
    for (const i of [0, 1, 31, 32, 4999]) {
      expect(built.timestamp(i)).toBe(reference.timestamp(i));
      expect(Buffer.from(built.id(i)).toString('hex')).toBe(list[i]![1]);
    }
    const moved = NegStorage.fromParts(structuredClone(built.parts()));
    expect(Buffer.from(moved.fingerprint(17, 4321))).toEqual(Buffer.from(reference.fingerprint(17, 4321)));
    expect(built.bytes / built.size).toBeLessThan(41.1);
    expect(() => builder.add(1, 'xyz')).toThrow();
  });
});

describe('buildStorage with a budget', () => {
  const rows = (n: number): [number, string][] => sorted(items(n));
  const budget = (limit: number, held = 0): SharedBudget => {
    const b = new SharedBudget();
    b.limit = limit;
    if (held > 0) expect(b.charge(held)).toBe(true);
    return b;
  };

  it('charges exactly the size of the set it returns, up to the limit itself', () => {
    const b = budget(1500);
    const set = buildStorage(rows(1500), b);
    expect(typeof set === 'string' ? set : set.size).toBe(1500);
    expect(b.held).toBe(1500);
    const small = budget(100);
    expect(typeof buildStorage(rows(7), small)).toBe('object');
    expect(small.held).toBe(7);
  });

  it('stops at the limit and gives back what it charged: too-large alone, busy when others hold the rest', () => {
    const alone = budget(1500);
    expect(buildStorage(rows(1501), alone)).toBe('too-large');
    expect(alone.held).toBe(0);
    const shared = budget(1500, 1000);
    expect(buildStorage(rows(600), shared)).toBe('busy');
    expect(shared.held).toBe(1000);
    expect(typeof buildStorage(rows(500), shared)).toBe('object');
    expect(shared.held).toBe(1500);
  });

  it('stops reading the rows once refused', () => {
    let read = 0;
    function* counted(): Generator<[number, string]> {
      for (const row of rows(10_000)) {
        read++;
        yield row;
      }
    }
    expect(buildStorage(counted(), budget(2000))).toBe('too-large');
    expect(read).toBe(2001);
  });
});
