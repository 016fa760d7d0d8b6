import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Where the marketplace may send a seller call (SSRF guard). Checked on the URL when a product is
 * saved and again at call time on every address the name resolves to, the one connected to
 * included (DNS rebinding). Link-local and metadata addresses are never allowed; loopback and
 * private ranges, and plain http, only when configuration says so (make start does, for the
 * reference seller on 127.0.0.1).
 */
export interface OutboundPolicy { allowHttp: boolean; allowPrivate: boolean }

const never = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['169.254.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4], ['100.100.100.200', 32], ['192.0.0.0', 24]] as const) never.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['fe80::', 10], ['ff00::', 8], ['fd00:ec2::254', 128]] as const) never.addSubnet(net, bits, 'ipv6');

const privateNets = new BlockList();
for (const [net, bits] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['198.18.0.0', 15]] as const) privateNets.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::1', 128], ['fc00::', 7]] as const) privateNets.addSubnet(net, bits, 'ipv6');

/** `::ffff:10.0.0.1` is 10.0.0.1. */
const unmapped = (address: string) => address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');

/** Why an address may not be called, or undefined when it may. */
export function refuseAddress(address: string, policy: OutboundPolicy): string | undefined {
  const a = unmapped(address);
  const family = isIP(a) === 6 ? 'ipv6' : 'ipv4';
  if (!isIP(a)) return `${address} is not an IP address`;
  if (never.check(a, family)) return `${a} is a link-local, metadata or reserved address`;
  if (privateNets.check(a, family) && !policy.allowPrivate) return `${a} is a loopback or private address`;
  return undefined;
}

/** Why a URL may not be called (scheme, or a literal address), or undefined; names are checked at call time. */
export function refuseUrl(url: string, policy: OutboundPolicy): string | undefined {
  let u: URL;
  try { u = new URL(url); } catch { return 'not a URL'; }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && policy.allowHttp)) return `${u.protocol.replace(':', '')} is not allowed; production interfaces are https`;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return isIP(host) ? refuseAddress(host, policy) : undefined;
}

export type Lookup = (hostname: string, cb: (err: Error | null, addresses: LookupAddress[]) => void) => void;
export const systemLookup: Lookup = (hostname, cb) => dnsLookup(hostname, { all: true }, cb);

export class AddressRefused extends Error {
  constructor(public readonly reason: string) { super(`address refused: ${reason}`); }
}

/**
 * A `lookup` for node:http(s) that resolves with `resolve` and refuses the name when any of its
 * addresses is refused (so a name cannot hide a private address behind a public one).
 */
export function guardedLookup(policy: OutboundPolicy, resolve: Lookup = systemLookup) {
  return (hostname: string, options: { all?: boolean }, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    resolve(hostname, (err, addresses) => {
      if (err) return cb(err, '', 4);
      const refused = addresses.map((a) => refuseAddress(a.address, policy)).find(Boolean);
      if (refused) return cb(new AddressRefused(refused), '', 4);
      if (addresses.length === 0) return cb(new Error(`${hostname} has no address`), '', 4);
      if (options.all) return cb(null, addresses);
      return cb(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
