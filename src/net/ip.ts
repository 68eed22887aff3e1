/**
 * IP addresses: one normal form, sets of addresses and CIDR blocks, the key per-IP rate limits count
 * under, and the config parser for address lists (`relay.trusted_proxies`, `rate_limits.exempt_ips`).
 * Used by the server (client IP), the engine (rate limits, NIP-86 IP blocks) and NIP-86 itself.
 */
import { BlockList, isIP } from 'node:net';
import { describeValue, type Parser } from '../config/values.js';

/** An IP address in the form the transport reports it: IPv4 dotted, IPv6 compressed lower-case, IPv4-mapped IPv6 as IPv4. */
export function normaliseIp(raw: string): string | undefined {
  let ip = raw.trim().toLowerCase();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped !== null) ip = mapped[1]!;
  const version = isIP(ip);
  if (version === 4) return ip;
  if (version !== 6) return undefined;
  try {
    const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    const v4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
    if (v4 !== null) {
      const hi = parseInt(v4[1]!, 16),
        lo = parseInt(v4[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    return canonical;
  } catch {
    return undefined;
  }
}

/** A schema `Parser` for a list of IPs and CIDR blocks (v4 and v6), e.g. [127.0.0.1, 10.0.0.0/8, "fd00::/8"]. */
export const parseAddressList: Parser<string[]> = (value) => {
  if (!Array.isArray(value))
    return { ok: false, reason: `expected a list of IP addresses or CIDR blocks such as 10.0.0.0/8, got ${describeValue(value)}` };
  const out: string[] = [];
  for (const [i, item] of (value as unknown[]).entries()) {
    const parsed = typeof item === 'string' ? parseBlock(item) : undefined;
    if (parsed === undefined) {
      return {
        ok: false,
        reason: `expected an IP address or a CIDR block (e.g. 127.0.0.1, 10.0.0.0/8, fd00::/8), got ${describeValue(item)}`,
        at: `[${i}]`,
      };
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
