import { isIP } from 'node:net';

/** The names `trust proxy` knows for address ranges. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** TRUST_PROXY as a number of hops: one whole number, alone. */
function hopsOf(entries: readonly string[]): number | null {
  return entries.length === 1 && /^\d+$/.test(entries[0]) ? Number(entries[0]) : null;
}

/** Express `trust proxy` from TRUST_PROXY: a hop count, a list of addresses/ranges, or none. */
export function trustProxySetting(entries: readonly string[]): boolean | number | string[] {
  if (entries.length === 0) return false;
  return hopsOf(entries) ?? [...entries];
}

/** True for `address`, `address/bits` or `address/netmask`, as Express's proxy-addr reads them. */
function isAddressOrRange(entry: string): boolean {
  const [address, range, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (range === undefined || isIP(range) === version) return true;
  return /^\d+$/.test(range) && Number(range) <= (version === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY read as Express will, checked at start so a mistake is one of the start's messages,
 * not a stack trace from deep in Express (`true`, `10.0.0.0/33`) or a silently different meaning
 * (`1,2` read as the addresses 0.0.0.1 and 0.0.0.2).
 */
export function trustProxyProblems(entries: readonly string[]): string[] {
  if (hopsOf(entries) !== null) return [];
  const bad = entries.filter((e) => !PROXY_RANGE_NAMES.includes(e) && !isAddressOrRange(e));
  return bad.length === 0
    ? []
    : [
        `TRUST_PROXY: ${bad.join(', ')} is not an address, a range (address/bits, address/netmask) or loopback, linklocal, uniquelocal (a number of hops stands alone)`,
      ];
}
