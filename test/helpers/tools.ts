import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import WebSocket from 'ws';
import { WAIT_LIMIT_MS, waitFor } from './wait.js';

useWebSocketImplementation(WebSocket);

/**
 * nostr-tools' Relay (not connected yet), as clients use it, except that it waits for the relay's
 * answers: by default it gives up on an OK after 4.4 s and calls `oneose` after 4.4 s without an EOSE,
 * which a loaded test machine can exceed.
 */
export function toolsRelay(url: string): Relay {
  const relay = new Relay(url);
  relay.publishTimeout = WAIT_LIMIT_MS;
  relay.baseEoseTimeout = WAIT_LIMIT_MS;
  return relay;
}

/** toolsRelay(url), connected. */
export async function connectTools(url: string): Promise<Relay> {
  const relay = toolsRelay(url);
  await relay.connect();
  return relay;
}

/** Resolves once the relay's NIP-42 challenge has reached `relay` (then `relay.auth()` can answer it). */
export function challengeReceived(relay: Relay): Promise<void> {
  return waitFor(() => (relay as unknown as { challenge?: string }).challenge !== undefined, 'AUTH challenge');
}
