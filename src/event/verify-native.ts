/**
 * The optional native verifier: libsecp256k1 from the system (Debian `libsecp256k1-dev`), through the
 * small N-API addon in native/secp256k1/ that `npm install` builds when it can. Without the addon the
 * relay uses the WASM verifier (verify-wasm.ts); `verify.implementation` chooses.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { NostrEvent } from './types.js';
import { PACKED_BYTES, packSignature } from './verify-wasm.js';

/** Checks `count` packed records (id ‖ pubkey ‖ sig) from `offset`; results[i] = 1 when record i verifies. */
export type PackedBatchCheck = (bytes: Uint8Array, offset: number, count: number, results: Uint8Array) => void;

interface NativeAddon {
  verifyPacked: PackedBatchCheck;
}

/** Where the install script leaves the addon; src/event and dist/event are both two levels below the root. */
const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../native/secp256k1/build/Release/commons_secp256k1.node', import.meta.url));

export type NativeLoad = { ok: true; verifyPacked: PackedBatchCheck } | { ok: false; reason: string };

const loaded = new Map<string, NativeLoad>();

/** Loads the addon at `path` once per process (per thread); says why not when it cannot. */
export function loadNative(path: string = NATIVE_ADDON_PATH): NativeLoad {
  let result = loaded.get(path);
  if (result) return result;
  if (!existsSync(path)) {
    result = { ok: false, reason: `the native addon is not built (${path} is missing; install libsecp256k1-dev and run npm rebuild)` };
  } else {
    try {
      const addon = createRequire(import.meta.url)(path) as NativeAddon;
      result =
        typeof addon.verifyPacked === 'function'
          ? { ok: true, verifyPacked: addon.verifyPacked }
          : { ok: false, reason: `${path} is not the commons libsecp256k1 addon` };
    } catch (error) {
      result = { ok: false, reason: `the native addon does not load: ${(error as Error).message.split('\n')[0]}` };
    }
  }
  loaded.set(path, result);
  return result;
}

export type VerifyImplementation = 'auto' | 'native' | 'wasm';

/**
 * The implementation `verify.implementation` stands for on this machine: `auto` is native when the
 * addon loads, else WASM (silently); `native` without the addon is an error (config load reports it).
 */
export function resolveImplementation(setting: VerifyImplementation, path: string = NATIVE_ADDON_PATH): 'native' | 'wasm' {
  if (setting === 'wasm') return 'wasm';
  const native = loadNative(path);
  if (native.ok) return 'native';
  if (setting === 'native') throw new Error(`verify.implementation: native: ${native.reason}`);
  return 'wasm';
}

type ParsedImplementation = { ok: true; value: VerifyImplementation } | { ok: false; reason: string };

/** Config parser of `verify.implementation`: one of the three words; `native` only when the addon at `path` loads. */
export function implementationParser(path: string = NATIVE_ADDON_PATH): (value: unknown) => ParsedImplementation {
  return (value) => {
    if (value !== 'auto' && value !== 'native' && value !== 'wasm') return { ok: false, reason: 'must be one of auto | native | wasm' };
    if (value === 'native') {
      const native = loadNative(path);
      if (!native.ok) return { ok: false, reason: `native: ${native.reason}` };
    }
    return { ok: true, value };
  };
}
export const parseVerifyImplementation = implementationParser();

/** Native libsecp256k1 on the calling thread (`verify.workers: 0`, benchmarks, tests). */
export class NativeVerifier {
  private readonly scratch = Buffer.alloc(PACKED_BYTES);
  private readonly result = new Uint8Array(1);
  private readonly check: PackedBatchCheck;

  constructor(path: string = NATIVE_ADDON_PATH) {
    const native = loadNative(path);
    if (!native.ok) throw new Error(native.reason);
    this.check = native.verifyPacked;
  }

  async verify(event: NostrEvent): Promise<boolean> {
    return this.verifySync(event);
  }

  verifySync(event: Pick<NostrEvent, 'id' | 'pubkey' | 'sig'>): boolean {
    if (!packSignature(event, this.scratch, 0)) return false;
    this.check(this.scratch, 0, 1, this.result);
    return this.result[0] === 1;
  }
}
