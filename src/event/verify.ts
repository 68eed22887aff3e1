import { schnorr } from '@noble/curves/secp256k1.js';
import type { NostrEvent } from './types.js';

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

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
