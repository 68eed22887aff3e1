import { createHash } from 'node:crypto';

/**
 * NIP-77 negentropy, the responder (relay) side: our own implementation of the range-based set
 * reconciliation protocol (version 0x61), pure — no sockets, no SQLite.
 *
 * nostr-tools' `Negentropy` is only an initiator: its `reconcile()` has no responder branch (an
 * `IdList` from the client is answered with nothing instead of the relay's ids), so a relay cannot use
 * it. Its initiator is what our tests and the `sync` CLI drive against this module.
 *
 * Items are (created_at, 32-byte id) sorted ascending, held in typed arrays: 8 + 32 bytes each, plus 1 for
 * the prefix sums of the ids (256-bit little-endian integers), kept for every 32nd item only. A
 * fingerprint of any range then adds at most 62 ids to two prefix sums, plus one SHA-256.
 */

export const PROTOCOL_VERSION = 0x61;
const ID_SIZE = 32;
const FINGERPRINT_SIZE = 16;
const MODE_SKIP = 0;
const MODE_FINGERPRINT = 1;
const MODE_IDLIST = 2;
/** Smallest frame size limit (bytes of binary message) the protocol allows. */
export const MIN_FRAME_SIZE = 4096;

type Emit = (bytes: number, write: (w: Writer) => void) => void;

export interface NegStorageParts {
  timestamps: Float64Array;
  ids: Uint8Array;
  prefix: Uint32Array;
}

interface Bound {
  timestamp: number;
  id: Uint8Array;
}

const INFINITE: Bound = { timestamp: Infinity, id: new Uint8Array(0) };

/** Prefix sums are kept for items 0, 32, 64, …: 1 byte per item instead of 32. */
const PREFIX_STRIDE = 32;
const LANES = 8;
const TWO_32 = 2 ** 32;

/** The relay's sorted set of (created_at, id). Build with rows already sorted (created_at asc, id asc). */
export class NegStorage {
  readonly size: number;
  private readonly timestamps: Float64Array;
  private readonly ids: Uint8Array;
  private readonly view: DataView;
  /** prefix[k] = sum of ids[0 .. k·PREFIX_STRIDE) mod 2^256, 8 little-endian u32 lanes each. */
  private readonly prefix: Uint32Array;

  /** `prefix` only from parts() of another set (moved between threads): then nothing is recomputed. */
  constructor(timestamps: ArrayLike<number>, ids: Uint8Array, prefix?: Uint32Array) {
    this.size = timestamps.length;
    if (ids.length !== this.size * ID_SIZE) throw new Error('ids must hold 32 bytes per timestamp');
    this.timestamps = timestamps instanceof Float64Array ? timestamps : Float64Array.from(timestamps);
    this.ids = ids;
    this.view = new DataView(ids.buffer, ids.byteOffset, ids.byteLength);
    const blocks = Math.floor(this.size / PREFIX_STRIDE) + 1;
    if (prefix) {
      if (prefix.length !== blocks * LANES) throw new Error('prefix must hold 8 lanes per 32 items, plus one');
      this.prefix = prefix;
      return;
    }
    this.prefix = new Uint32Array(blocks * LANES);
    const lanes = new Float64Array(LANES);
    for (let block = 1; block < blocks; block++) {
      for (let lane = 0; lane < LANES; lane++) lanes[lane] = this.prefix[(block - 1) * LANES + lane]!;
      this.addIds(lanes, (block - 1) * PREFIX_STRIDE, block * PREFIX_STRIDE, 1);
      normalise(lanes, (lane, value) => (this.prefix[block * LANES + lane] = value));
    }
  }

  /** From rows of [created_at, id bytes], sorted ascending. */
  static fromRows(rows: Iterable<readonly [number, Uint8Array]>): NegStorage {
    const builder = new NegStorageBuilder();
    for (const [timestamp, id] of rows) builder.addBytes(timestamp, id);
    return builder.finish();
  }

  /** Bytes held by the set's arrays. */
  get bytes(): number {
    return this.timestamps.byteLength + this.ids.byteLength + this.prefix.byteLength;
  }

  /** The arrays behind the set, to move it to another thread (their buffers may be transferred). */
  parts(): NegStorageParts {
    return { timestamps: this.timestamps, ids: this.ids, prefix: this.prefix };
  }

  static fromParts(parts: NegStorageParts): NegStorage {
    return new NegStorage(parts.timestamps, parts.ids, parts.prefix);
  }

  timestamp(i: number): number {
    return this.timestamps[i]!;
  }

  id(i: number): Uint8Array {
    return this.ids.subarray(i * ID_SIZE, (i + 1) * ID_SIZE);
  }

  /** First index in [begin, end) whose item is not below `bound`. */
  lowerBound(begin: number, end: number, bound: Bound): number {
    let first = begin;
    let count = end - begin;
    while (count > 0) {
      const step = count >> 1;
      const it = first + step;
      if (this.compare(it, bound) < 0) {
        first = it + 1;
        count -= step + 1;
      } else {
        count = step;
      }
    }
    return first;
  }

  fingerprint(begin: number, end: number): Uint8Array {
    const lanes = new Float64Array(LANES);
    if (end - begin <= 2 * PREFIX_STRIDE) {
      this.addIds(lanes, begin, end, 1);
    } else {
      this.addPrefix(lanes, end, 1);
      this.addPrefix(lanes, begin, -1);
    }
    const out = Buffer.alloc(ID_SIZE);
    normalise(lanes, (lane, value) => out.writeUInt32LE(value, lane * 4));
    return createHash('sha256')
      .update(out)
      .update(encodeVarInt(end - begin))
      .digest()
      .subarray(0, FINGERPRINT_SIZE);
  }

  /** lanes += sign × (sum of ids[0 .. i)), lane by lane, carries left for normalise(). */
  private addPrefix(lanes: Float64Array, i: number, sign: 1 | -1): void {
    const block = Math.floor(i / PREFIX_STRIDE);
    for (let lane = 0; lane < LANES; lane++) lanes[lane]! += sign * this.prefix[block * LANES + lane]!;
    this.addIds(lanes, block * PREFIX_STRIDE, i, sign);
  }

  /** lanes += sign × (sum of ids[begin .. end)); callers add at most 64 ids and two prefixes, so every lane stays exact in a double. */
  private addIds(lanes: Float64Array, begin: number, end: number, sign: 1 | -1): void {
    for (let i = begin; i < end; i++) {
      for (let lane = 0; lane < LANES; lane++) lanes[lane]! += sign * this.view.getUint32(i * ID_SIZE + lane * 4, true);
    }
  }

  private compare(i: number, bound: Bound): number {
    const t = this.timestamps[i]!;
    if (t !== bound.timestamp) return t < bound.timestamp ? -1 : 1;
    return compareBytes(this.id(i), bound.id);
  }
}

/** Propagates the carries (and borrows) of per-lane sums; the result is mod 2^256, one u32 per lane. */
function normalise(lanes: Float64Array, put: (lane: number, value: number) => void): void {
  let carry = 0;
  for (let lane = 0; lane < LANES; lane++) {
    const value = lanes[lane]! + carry;
    carry = Math.floor(value / TWO_32);
    put(lane, value - carry * TWO_32);
  }
}

/**
 * Collects sorted rows into a NegStorage without an object per row: the arrays double as they fill and
 * are cut to size once, at finish().
 */
export class NegStorageBuilder {
  private timestamps = new Float64Array(1024);
  private ids = Buffer.alloc(1024 * ID_SIZE);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** One row; `idHex` is the id in hex (either case), as SQLite's hex() gives it. */
  add(timestamp: number, idHex: string): void {
    this.reserve();
    if (this.ids.write(idHex, this.count * ID_SIZE, ID_SIZE, 'hex') !== ID_SIZE) throw new Error('an id must be 64 hex characters');
    this.timestamps[this.count++] = timestamp;
  }

  addBytes(timestamp: number, id: Uint8Array): void {
    if (id.length !== ID_SIZE) throw new Error('an id must be 32 bytes');
    this.reserve();
    this.ids.set(id, this.count * ID_SIZE);
    this.timestamps[this.count++] = timestamp;
  }

  finish(): NegStorage {
    // slice() copies into arrays of their own: the set holds no spare capacity, and its buffers can be transferred.
    return new NegStorage(this.timestamps.slice(0, this.count), new Uint8Array(this.ids.subarray(0, this.count * ID_SIZE)));
  }

  private reserve(): void {
    if (this.count < this.timestamps.length) return;
    const timestamps = new Float64Array(this.timestamps.length * 2);
    timestamps.set(this.timestamps);
    const ids = Buffer.alloc(this.ids.length * 2);
    ids.set(this.ids);
    this.timestamps = timestamps;
    this.ids = ids;
  }
}

/** Records charged while a set is read: a SharedBudget (src/worker/shared-budget.ts) shared across threads. */
export interface RecordBudget {
  readonly limit: number;
  charge(records: number): boolean;
  give(records: number): void;
}

/** Why buildStorage stopped: the set alone passes the budget's limit, or others hold the rest of it. */
export type BudgetRefusal = 'too-large' | 'busy';

/** Records charged at a time while a set is read (then one at a time near the limit). */
const CHARGE_STEP = 1024;

/**
 * A set from rows of (created_at, id in hex) sorted ascending, charging `budget` ahead of the rows as
 * it grows: a set that does not fit stops being read at the limit and gives back what it charged. The
 * set returned stays charged with exactly its size.
 */
export function buildStorage(rows: Iterable<readonly [number, string]>, budget?: RecordBudget): NegStorage | BudgetRefusal {
  const builder = new NegStorageBuilder();
  let charged = 0;
  let step = CHARGE_STEP;
  for (const [timestamp, idHex] of rows) {
    if (budget !== undefined && builder.size === charged) {
      while (!budget.charge(step)) {
        if (step === 1) {
          budget.give(charged);
          return charged + 1 > budget.limit ? 'too-large' : 'busy';
        }
        step = 1;
      }
      charged += step;
    }
    builder.add(timestamp, idHex);
  }
  const storage = builder.finish();
  budget?.give(charged - storage.size);
  return storage;
}

/** A malformed negentropy message: answered NEG-ERR "invalid: …". */
export class NegProtocolError extends Error {}

export type ReconcileResult =
  | { type: 'reply'; message: string }
  /** The first byte named a protocol version other than 0x61: reply with our version alone. */
  | { type: 'unsupported-version'; message: string };

/**
 * Answers one client message (hex) against `storage`. `frameSizeLimit` bounds the binary reply
 * (the hex frame is twice that); ranges that do not fit are answered with one fingerprint of the rest,
 * which the client splits in its next round. Throws NegProtocolError on malformed input.
 */
export function reconcile(storage: NegStorage, queryHex: string, frameSizeLimit: number): ReconcileResult {
  if (queryHex.length === 0 || queryHex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(queryHex)) {
    throw new NegProtocolError('message must be a non-empty even-length hex string');
  }
  const input = new Reader(Buffer.from(queryHex, 'hex'));
  const version = input.byte();
  if (version !== PROTOCOL_VERSION) return { type: 'unsupported-version', message: PROTOCOL_VERSION.toString(16) };

  const limit = Math.max(MIN_FRAME_SIZE, frameSizeLimit) - 200;
  const output = new Writer();
  output.byte(PROTOCOL_VERSION);
  let lastIn = 0;
  const decodeBound = (): Bound => {
    let timestamp = input.varint();
    if (timestamp === 0 || lastIn === Infinity) {
      timestamp = Infinity;
    } else {
      timestamp = lastIn + timestamp - 1;
    }
    lastIn = timestamp;
    const length = input.varint();
    if (length > ID_SIZE) throw new NegProtocolError('bound key longer than 32 bytes');
    return { timestamp, id: input.bytes(length) };
  };

  const size = storage.size;
  let prevBound: Bound = { timestamp: 0, id: new Uint8Array(0) };
  let prevIndex = 0;
  /** Index where the last range written to `output` ends (skipped ranges are not written). */
  let writtenIndex = 0;
  let skip = false;
  // Ranges are encoded into `pending` first so a range that would overflow the frame can be dropped.
  while (!input.done()) {
    const pending: Array<(w: Writer) => void> = [];
    let pendingBytes = 0;
    const emit = (bytes: number, write: (w: Writer) => void): void => {
      pending.push(write);
      pendingBytes += bytes;
    };
    const flushSkip = (): void => {
      if (!skip) return;
      skip = false;
      const bound = prevBound;
      emit(boundSize(bound), (w) => {
        w.bound(bound);
        w.varint(MODE_SKIP);
      });
    };

    let truncated = false;
    const currBound = decodeBound();
    const mode = input.varint();
    const lower = prevIndex;
    let upper = storage.lowerBound(prevIndex, size, currBound);

    if (mode === MODE_SKIP) {
      skip = true;
    } else if (mode === MODE_FINGERPRINT) {
      const theirs = input.bytes(FINGERPRINT_SIZE);
      if (compareBytes(theirs, storage.fingerprint(lower, upper)) !== 0) {
        flushSkip();
        splitRange(storage, lower, upper, currBound, emit);
      } else {
        skip = true;
      }
    } else if (mode === MODE_IDLIST) {
      const count = input.varint();
      input.bytes(count * ID_SIZE); // their ids: the initiator works out have/need, we only answer ours
      flushSkip();
      let endBound = currBound;
      let end = upper;
      const room = limit - output.length - pendingBytes - 100;
      if ((upper - lower) * ID_SIZE > room) {
        end = lower + Math.max(0, Math.floor(room / ID_SIZE));
        endBound = { timestamp: storage.timestamp(end), id: storage.id(end) };
        upper = end;
        truncated = true;
      }
      const from = lower;
      const bound = endBound;
      emit(boundSize(bound) + 5 + (end - from) * ID_SIZE, (w) => {
        w.bound(bound);
        w.varint(MODE_IDLIST);
        w.varint(end - from);
        for (let i = from; i < end; i++) w.raw(storage.id(i));
      });
    } else {
      throw new NegProtocolError(`unexpected mode ${mode}`);
    }

    const overflow = output.length + pendingBytes > limit;
    if (!overflow && pending.length > 0) {
      for (const write of pending) write(output);
      writtenIndex = upper;
    }
    if (overflow || truncated) {
      // Out of room: one fingerprint for everything not yet answered; the client splits it next round.
      output.bound(INFINITE);
      output.varint(MODE_FINGERPRINT);
      output.raw(storage.fingerprint(writtenIndex, size));
      break;
    }
    prevIndex = upper;
    prevBound = currBound;
  }
  return { type: 'reply', message: output.hex() };

  function splitRange(s: NegStorage, lo: number, hi: number, upperBound: Bound, out: Emit): void {
    const n = hi - lo;
    const buckets = 16;
    if (n < buckets * 2) {
      out(boundSize(upperBound) + 5 + n * ID_SIZE, (w) => {
        w.bound(upperBound);
        w.varint(MODE_IDLIST);
        w.varint(n);
        for (let i = lo; i < hi; i++) w.raw(s.id(i));
      });
      return;
    }
    const perBucket = Math.floor(n / buckets);
    const withExtra = n % buckets;
    let curr = lo;
    for (let i = 0; i < buckets; i++) {
      const bucketSize = perBucket + (i < withExtra ? 1 : 0);
      const fingerprint = s.fingerprint(curr, curr + bucketSize);
      curr += bucketSize;
      const next = curr === hi ? upperBound : minimalBound(s, curr - 1, curr);
      out(boundSize(next) + 1 + FINGERPRINT_SIZE, (w) => {
        w.bound(next);
        w.varint(MODE_FINGERPRINT);
        w.raw(fingerprint);
      });
    }
  }
}

/** The shortest bound separating item `prev` from item `curr` (prev < curr). */
function minimalBound(s: NegStorage, prev: number, curr: number): Bound {
  if (s.timestamp(curr) !== s.timestamp(prev)) return { timestamp: s.timestamp(curr), id: new Uint8Array(0) };
  const a = s.id(prev);
  const b = s.id(curr);
  let shared = 0;
  while (shared < ID_SIZE && a[shared] === b[shared]) shared++;
  return { timestamp: s.timestamp(curr), id: b.subarray(0, shared + 1) };
}

/** Upper estimate of an encoded bound's size (timestamp varint ≤ 8 bytes). */
const boundSize = (bound: Bound): number => 9 + bound.id.length;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length;
}

export function encodeVarInt(n: number): Uint8Array {
  if (n === 0) return Uint8Array.of(0);
  const digits: number[] = [];
  while (n > 0) {
    digits.push(n % 128);
    n = Math.floor(n / 128);
  }
  digits.reverse();
  for (let i = 0; i < digits.length - 1; i++) digits[i]! |= 0x80;
  return Uint8Array.from(digits);
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  byte(): number {
    if (this.pos >= this.buf.length) throw new NegProtocolError('message ends prematurely');
    return this.buf[this.pos++]!;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new NegProtocolError('message ends prematurely');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  varint(): number {
    let result = 0;
    for (let i = 0; ; i++) {
      if (i > 8) throw new NegProtocolError('varint too long');
      const b = this.byte();
      result = result * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) return result;
    }
  }
}

/** Output with delta-encoded timestamps, as the protocol requires (one Writer per message). */
class Writer {
  private chunks: Uint8Array[] = [];
  length = 0;
  private lastOut = 0;
  raw(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
  byte(b: number): void {
    this.raw(Uint8Array.of(b));
  }
  varint(n: number): void {
    this.raw(encodeVarInt(n));
  }
  bound(bound: Bound): void {
    if (bound.timestamp === Infinity) {
      this.lastOut = Infinity;
      this.varint(0);
    } else {
      this.varint(bound.timestamp - this.lastOut + 1);
      this.lastOut = bound.timestamp;
    }
    this.varint(bound.id.length);
    this.raw(bound.id);
  }
  hex(): string {
    return Buffer.concat(this.chunks).toString('hex');
  }
}
