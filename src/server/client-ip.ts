/**
 * The client's IP address behind reverse proxies (`relay.trusted_proxies`). Pure (no uWS): the server
 * passes the TCP peer and the X-Forwarded-For header.
 */
import { normaliseIp, type AddressSet } from '../net/ip.js';

/**
 * The client IP: the TCP peer, unless the peer is a trusted proxy — then the right-most address in
 * X-Forwarded-For that is not itself a trusted proxy (addresses further left were written by the
 * client and prove nothing). A malformed entry ends the walk at the last address vouched for.
 */
export function resolveClientIp(peer: string, forwardedFor: string, trusted: AddressSet): string {
  const peerIp = normaliseIp(peer) ?? peer;
  if (forwardedFor === '' || !trusted.has(peerIp)) return peerIp;
  let client = peerIp;
  const hops = forwardedFor.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseIp(stripPort(hops[i]!.trim()));
    if (hop === undefined) return client;
    client = hop;
    if (!trusted.has(hop)) return hop;
  }
  return client;
}

/** "1.2.3.4:5678" → "1.2.3.4", "[::1]:443" → "::1"; anything else is returned as is. */
function stripPort(hop: string): string {
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(hop);
  if (v4 !== null) return v4[1]!;
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  return v6 !== null ? v6[1]! : hop;
}
