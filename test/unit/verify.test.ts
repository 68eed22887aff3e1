import { schnorr } from '@noble/curves/secp256k1.js';
import { initNostrWasm } from 'nostr-wasm';
import { signSchnorr, xOnlyPointFromScalar } from 'tiny-secp256k1';
import { afterAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { computeId } from '../../src/event/validate.js';
import { NobleVerifier, WasmVerifier, type Verifier } from '../../src/event/verify.js';
import { createVerifier, describeVerifier, VerifierPool } from '../../src/event/verify-pool.js';
import { implementationParser, loadNative, NativeVerifier, resolveImplementation } from '../../src/event/verify-native.js';
import { newKeys, signed } from '../helpers/events.js';

// --- fixtures ---------------------------------------------------------------------------------------

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const keys = Array.from({ length: 16 }, (_, i) => {
  const secret = new Uint8Array(32);
  secret[31] = i + 1;
  secret[0] = 7;
  return { secret, pubkey: hex(xOnlyPointFromScalar(secret)) };
});

/** A validly signed event, signed with the WASM signer (fast enough for thousands). */
function event(i: number): NostrEvent {
  const key = keys[i % keys.length]!;
  const base = { pubkey: key.pubkey, created_at: 1_700_000_000 + i, kind: 1, tags: [['t', `n${i}`]], content: `note ${i}` };
  const id = computeId({ ...base, id: '', sig: '' } as NostrEvent);
  return { ...base, id, sig: hex(signSchnorr(Buffer.from(id, 'hex'), key.secret)) };
}

const flip = (s: string, at: number): string => s.slice(0, at) + (s[at] === '0' ? '1' : '0') + s.slice(at + 1);

type Case = 'valid' | 'tampered sig' | 'tampered id' | 'wrong pubkey' | 'garbage hex' | 'pubkey off curve' | 'sig out of range';
const CASES: Case[] = ['valid', 'tampered sig', 'tampered id', 'wrong pubkey', 'garbage hex', 'pubkey off curve', 'sig out of range'];

function variant(i: number, kind: Case): NostrEvent {
  const e = event(i);
  switch (kind) {
    case 'valid':
      return e;
    case 'tampered sig':
      return { ...e, sig: flip(e.sig, i % 128) };
    case 'tampered id': // the signature no longer covers the id
      return { ...e, id: flip(e.id, i % 64) };
    case 'wrong pubkey':
      return { ...e, pubkey: keys[(i + 1) % keys.length]!.pubkey };
    case 'garbage hex':
      return { ...e, sig: `zz${e.sig.slice(2)}` };
    case 'pubkey off curve': // x = 5 is not the x-coordinate of a point on secp256k1
      return { ...e, pubkey: `${'0'.repeat(63)}5` };
    case 'sig out of range':
      return { ...e, sig: 'f'.repeat(128) };
  }
}

/** The reference: @noble/curves on the raw fields. */
function reference(e: NostrEvent): boolean {
  try {
    return schnorr.verify(Buffer.from(e.sig, 'hex'), Buffer.from(e.id, 'hex'), Buffer.from(e.pubkey, 'hex'));
  } catch {
    return false;
  }
}

const pools: Verifier[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close?.()));
});
function pool(size: number): VerifierPool {
  const p = new VerifierPool({ size });
  pools.push(p);
  return p;
}

// --- tests ------------------------------------------------------------------------------------------

describe('verifiers agree with @noble/curves', () => {
  const nostrWasm = initNostrWasm();
  const implementations: [string, () => Promise<(e: NostrEvent) => Promise<boolean>>][] = [
    [
      'NobleVerifier',
      async () => {
        const v = new NobleVerifier();
        return (e) => v.verify(e);
      },
    ],
    [
      'WasmVerifier (tiny-secp256k1)',
      async () => {
        const v = new WasmVerifier();
        return (e) => v.verify(e);
      },
    ],
    [
      'nostr-wasm verifyEvent',
      async () => {
        const nw = await nostrWasm;
        return async (e) => {
          try {
            nw.verifyEvent(e);
            return true;
          } catch {
            return false;
          }
        };
      },
    ],
    [
      'VerifierPool',
      async () => {
        const p = pool(2);
        return (e) => p.verify(e);
      },
    ],
    [
      'createVerifier(0)',
      async () => {
        const v = createVerifier(0);
        pools.push(v);
        return (e) => v.verify(e);
      },
    ],
  ];

  for (const [name, make] of implementations) {
    it(name, async () => {
      const verify = await make();
      for (const kind of CASES) {
        for (let i = 0; i < 8; i++) {
          const e = variant(i, kind);
          const expected = reference(e);
          expect(expected, `reference on ${kind} #${i}`).toBe(kind === 'valid');
          expect(await verify(e), `${name} on ${kind} #${i}`).toBe(expected);
        }
      }
    });
  }

  // The same vectors through the native addon (built by npm install when libsecp256k1-dev is present).
  // Skipped without it; the fallback tests below always run.
  const native: [string, () => Promise<(e: NostrEvent) => Promise<boolean>>][] = [
    [
      'NativeVerifier (libsecp256k1)',
      async () => {
        const v = new NativeVerifier();
        return (e) => v.verify(e);
      },
    ],
    [
      'VerifierPool (native workers)',
      async () => {
        const p = new VerifierPool({ size: 2, implementation: 'native' });
        pools.push(p);
        return (e) => p.verify(e);
      },
    ],
    [
      "createVerifier(0, 'native')",
      async () => {
        const v = createVerifier(0, 'native');
        return (e) => v.verify(e);
      },
    ],
  ];
  for (const [name, make] of native) {
    it.skipIf(!loadNative().ok)(name, async () => {
      const verify = await make();
      for (const kind of CASES) {
        for (let i = 0; i < 8; i++) {
          const e = variant(i, kind);
          expect(await verify(e), `${name} on ${kind} #${i}`).toBe(reference(e));
        }
      }
    });
  }

  it('an event signed by nostr-tools verifies everywhere', async () => {
    const e = signed(newKeys());
    expect(reference(e)).toBe(true);
    expect(await new WasmVerifier().verify(e)).toBe(true);
    expect(await pool(1).verify(e)).toBe(true);
  });
});

describe('VerifierPool', () => {
  const mixed = Array.from({ length: 3000 }, (_, i) => {
    const kind = i % 3 === 0 ? CASES[(i / 3) % CASES.length]! : 'valid';
    return { event: variant(i, kind), expected: kind === 'valid' };
  });

  it('returns the right answer for each of a few thousand mixed events, in order', async () => {
    const p = pool(2);
    const results = await Promise.all(mixed.map(({ event }) => p.verify(event)));
    expect(results).toEqual(mixed.map(({ expected }) => expected));
    // The reference agrees with the expectations (a sample: noble is slow).
    for (const { event, expected } of mixed.slice(0, 90)) expect(reference(event)).toBe(expected);
    expect(p.inFlight).toBe(0);
  });

  it('answers calls spread over many ticks', async () => {
    const p = pool(2);
    const results: boolean[] = [];
    for (const { event } of mixed.slice(0, 50)) results.push(await p.verify(event));
    expect(results).toEqual(mixed.slice(0, 50).map(({ expected }) => expected));
  });

  it('defaults to one worker per CPU, at least one', async () => {
    const p = pool(0);
    expect(p.size).toBe(1);
    expect(await p.verify(event(1))).toBe(true);
  });

  it('close() terminates the workers and refuses new work', async () => {
    const p = new VerifierPool({ size: 2 });
    expect(await p.verify(event(2))).toBe(true);
    const exits = p.workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve)));
    const waiting = expect(p.verify(event(3))).rejects.toThrow(/closed/); // queued, not yet posted
    await p.close();
    await Promise.all(exits);
    await waiting;
    await expect(p.verify(event(4))).rejects.toThrow(/closed/);
    await p.close(); // idempotent
  });

  it("a killed worker's pending promises reject with an Error; the pool replaces it and keeps working", async () => {
    const p = pool(2);
    expect(await p.verify(event(5))).toBe(true); // both workers up
    const victim = p.workers[0]!;
    const batch = mixed.slice(0, 2000);
    const settled = Promise.allSettled(batch.map(({ event }) => p.verify(event)));
    await new Promise((resolve) => setImmediate(resolve)); // the pool posts its batches
    expect(p.inFlight).toBe(batch.length);
    await victim.terminate();

    const outcomes = await settled;
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const o of rejected) {
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(Error);
      expect(String((o as PromiseRejectedResult).reason.message)).toMatch(/worker/);
    }
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') expect(o.value).toBe(batch[i]!.expected);
    });

    expect(p.workers[0]).not.toBe(victim);
    const again = mixed.slice(0, 500);
    expect(await Promise.all(again.map(({ event }) => p.verify(event)))).toEqual(again.map(({ expected }) => expected));
  });
});

describe('choosing the implementation (verify.implementation)', () => {
  const missing = '/nonexistent/commons_secp256k1.node';

  it('auto falls back to WASM when the addon is missing; wasm is always WASM', () => {
    expect(loadNative(missing)).toMatchObject({ ok: false, reason: expect.stringMatching(/not built/) });
    expect(resolveImplementation('auto', missing)).toBe('wasm');
    expect(resolveImplementation('wasm')).toBe('wasm');
  });

  it('auto picks native exactly when the addon loads', () => {
    expect(resolveImplementation('auto')).toBe(loadNative().ok ? 'native' : 'wasm');
  });

  it('native without the addon is refused, naming the key and the reason', () => {
    expect(() => resolveImplementation('native', missing)).toThrow(/verify\.implementation: native: .*not built/);
    expect(implementationParser(missing)('native')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^native: .*libsecp256k1-dev/),
    });
    expect(implementationParser(missing)('auto')).toEqual({ ok: true, value: 'auto' });
    expect(implementationParser(missing)('fast')).toMatchObject({ ok: false, reason: 'must be one of auto | native | wasm' });
  });

  it('the start-up line names the verifier, and warns when auto fell back to WASM', () => {
    expect(describeVerifier(2, 'auto', missing)).toEqual({
      line: expect.stringMatching(/^verify: WASM, 2 worker threads; the native addon is not built .*libsecp256k1-dev.*~5x the CPU/),
      slow: true,
    });
    expect(describeVerifier(0, 'wasm', missing)).toEqual({
      line: 'verify: WASM (verify.implementation: wasm), on the connection thread',
      slow: false,
    });
    if (loadNative().ok) expect(describeVerifier(1, 'auto')).toEqual({ line: 'verify: native libsecp256k1, 1 worker thread', slow: false });
  });

  it('a file that is not a loadable addon falls back too', () => {
    expect(loadNative(import.meta.filename)).toMatchObject({ ok: false });
    expect(resolveImplementation('auto', import.meta.filename)).toBe('wasm');
  });

  it('a pool of WASM workers still verifies when the addon is absent (the default)', async () => {
    const p = pool(1);
    expect(p.implementation).toBe('wasm');
    expect(await p.verify(event(9))).toBe(true);
    expect(await p.verify(variant(9, 'tampered sig'))).toBe(false);
  });
});
