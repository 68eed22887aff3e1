import { schnorr } from '@noble/curves/secp256k1.js';
import type { NostrEvent } from './types.js';
import { PACKED_BYTES, packSignature, verifyPacked } from './verify-wasm.js';

export { PACKED_BYTES, packSignature, verifyPacked } from './verify-wasm.js';

/**
 * The seam for signature verification. The id has already been checked against the event's
 * canonical serialisation when verify() is called, so only the BIP-340 signature over the id remains.
 */
export interface Verifier {
  verify(event: NostrEvent): Promise<boolean>;
  close?(): Promise<void>;
}

/** Pure-JS reference implementation (@noble/curves), on the main thread. */
export class NobleVerifier implements Verifier {
  async verify(event: NostrEvent): Promise<boolean> {
    try {
      return schnorr.verify(hexToBytes(event.sig), hexToBytes(event.id), hexToBytes(event.pubkey));
    } catch {
      return false;
    }
  }
}

/**
 * libsecp256k1 compiled to WASM (tiny-secp256k1), on the calling thread: the fastest implementation
 * that loads here (see bench/verify.ts and bench/README.md "Verification"). Used by `verify.workers: 0`
 * and inside each worker of the pool.
 */
export class WasmVerifier implements Verifier {
  private readonly scratch = Buffer.alloc(PACKED_BYTES);

  async verify(event: NostrEvent): Promise<boolean> {
    return this.verifySync(event);
  }

  verifySync(event: Pick<NostrEvent, 'id' | 'pubkey' | 'sig'>): boolean {
    return packSignature(event, this.scratch, 0) && verifyPacked(this.scratch, 0);
  }
}

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
