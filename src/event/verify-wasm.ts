/**
 * The WASM signature check (libsecp256k1 compiled to WASM, from tiny-secp256k1) on packed bytes.
 * Kept apart from verify.ts so a pool worker loads only this module and its WASM.
 */
import { verifySchnorr } from 'tiny-secp256k1';
import type { NostrEvent } from './types.js';

/**
 * Bytes of one signature check, packed for the worker pool: id (32) ‖ pubkey (32) ‖ sig (64).
 * A packed record is what crosses the thread boundary (one transferable buffer per batch).
 */
export const PACKED_BYTES = 128;

/**
 * Writes an event's id, pubkey and sig as bytes at `offset`. Returns false when one of them is not
 * 64/64/128 lowercase-or-uppercase hex (the record is then left zeroed, which never verifies).
 */
export function packSignature(event: Pick<NostrEvent, 'id' | 'pubkey' | 'sig'>, into: Buffer, offset: number): boolean {
  if (!isHex(event.id, 64) || !isHex(event.pubkey, 64) || !isHex(event.sig, 128)) {
    into.fill(0, offset, offset + PACKED_BYTES);
    return false;
  }
  into.write(event.id, offset, 32, 'hex');
  into.write(event.pubkey, offset + 32, 32, 'hex');
  into.write(event.sig, offset + 64, 64, 'hex');
  return true;
}

/** BIP-340 check of one packed record with libsecp256k1 compiled to WASM (tiny-secp256k1). */
export function verifyPacked(bytes: Uint8Array, offset: number): boolean {
  try {
    return verifySchnorr(
      bytes.subarray(offset, offset + 32),
      bytes.subarray(offset + 32, offset + 64),
      bytes.subarray(offset + 64, offset + 128),
    );
  } catch {
    // tiny-secp256k1 throws on a pubkey that is not on the curve or a signature scalar out of range.
    return false;
  }
}

function isHex(value: unknown, length: number): value is string {
  return typeof value === 'string' && value.length === length && HEX.test(value);
}
const HEX = /^[0-9a-fA-F]*$/;
