/**
 * The client's IP address behind reverse proxies (`relay.trusted_proxies`), and the key per-IP rate
 * limits count under. Pure (no uWS): the server passes the TCP peer and the X-Forwarded-For header.
 */
import { BlockList, isIP } from 'node:net';
import { describeValue, type Parser } from '../config/values.js';
import { normaliseIp } from '../nips/nip86.js';

/** A schema `Parser` for a list of IPs and CIDR blocks (v4 and v6), e.g. [127.0.0.1, 10.0.0.0/8, "fd00::/8"]. */
export const parseAddressList: Parser<string[]> = (value) => {
  if (!Array.isArray(value)) return { ok: false, reason: `expected a list of IP addresses or CIDR blocks such as 10.0.0.0/8, got ${describeValue(value)}` };
  const out: string[] = [];
  for (const [i, item] of (value as unknown[]).entries()) {
    const parsed = typeof item === 'string' ? parseBlock(item) : undefined;
    if (parsed === undefined) {
      return { ok: false, reason: `expected an IP address or a CIDR block (e.g. 127.0.0.1, 10.0.0.0/8, fd00::/8), got ${describeValue(item)}`, at: `[${i}]` };
    }
    out.push(parsed.bits === undefined ? parsed.ip : `${parsed.ip}/${parsed.bits}`);
  }
  return { ok: true, value: out };
};

function parseBlock(text: string): { ip: string; bits?: number } | undefined {
  const [address = '', bitsText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const ip = normaliseIp(address);
  if (ip === undefined) return undefined;
  if (bitsText === undefined) return { ip };
  const max = isIP(ip) === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) return undefined;
  return { ip, bits: Number(bitsText) };
}

/** A set of addresses and blocks; `has` answers for any address, v4 or v6 (v4-mapped v6 counts as v4). */
export class AddressSet {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const block = parseBlock(entry);
      if (block === undefined) throw new Error(`not an IP address or CIDR block: ${entry}`);
      const family = isIP(block.ip) === 4 ? 'ipv4' : 'ipv6';
      if (block.bits === undefined) this.list.addAddress(block.ip, family);
      else this.list.addSubnet(block.ip, block.bits, family);
    }
    this.size = entries.length;
  }

  has(ip: string): boolean {
    if (this.size === 0) return false;
    const normal = normaliseIp(ip);
    return normal !== undefined && this.list.check(normal, isIP(normal) === 4 ? 'ipv4' : 'ipv6');
  }
}

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

/**
 * What per-IP limits count under: an IPv4 address as is, an IPv6 address by its /64 (one subscriber
 * line usually holds a whole /64, so counting single v6 addresses would let one client rotate freely).
 */
export function rateKeyOf(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const groups = expandV6(ip);
  return groups === undefined ? ip : `${groups.slice(0, 4).join(':')}::/64`;
}

function expandV6(ip: string): string[] | undefined {
  const [head = '', tail] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  if (right.length > 0 && right[right.length - 1]!.includes('.')) return undefined; // embedded v4 tail: keep the whole address
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) => group.replace(/^0+(?=.)/, ''));
}
