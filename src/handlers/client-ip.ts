import { BlockList, isIP } from 'node:net';

/**
 * Which address a request comes from. Without trusted proxies it is the TCP
 * peer; with TRUST_PROXY it is the right-most address of X-Forwarded-For that
 * is not one of them (a client can prepend anything, but not past our proxy).
 */
export class ClientIp {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  /** `proxies`: addresses and CIDRs, comma-separated (IPv4 or IPv6). */
  constructor(proxies: string | undefined) {
    const entries = (proxies ?? '').split(',').map((e) => e.trim()).filter(Boolean);
    for (const entry of entries) {
      const [address = '', bits] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (isIP(address) === 0) throw new Error(`TRUST_PROXY: "${entry}" is not an address or CIDR`);
      if (bits === undefined) this.trusted.addAddress(address, family);
      else this.trusted.addSubnet(address, Number(bits), family);
    }
    this.any = entries.length > 0;
  }

  of(peer: string | undefined, forwardedFor: string | undefined): string {
    const tcp = normalize(peer ?? '');
    if (!this.any || !this.isTrusted(tcp) || !forwardedFor) return tcp;
    const hops = forwardedFor.split(',').map((h) => normalize(h.trim())).filter((h) => isIP(h) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] ?? '';
      if (!this.isTrusted(hop)) return hop;
    }
    return hops[0] ?? tcp;
  }

  private isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) is 1.2.3.4. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
