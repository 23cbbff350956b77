import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'

/**
 * Where a shop's API key may point a webhook: https to a public address only, so a shop cannot make
 * this service call into the private network it runs in (SSRF). The operator may register any URL.
 * Checked when the endpoint is saved and again before each delivery (a name may later resolve elsewhere).
 */
export class UnsafeUrl extends Error {}

const V4_PRIVATE: [number, number][] = [
  [0x00000000, 8], // 0.0.0.0/8 "this network"
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local (cloud metadata lives here)
  [0xac100000, 12], // 172.16/12
  [0xc0000000, 24], // 192.0.0/24 IETF protocol assignments
  [0xc0000200, 24], // TEST-NET-1
  [0xc0a80000, 16], // 192.168/16
  [0xc6120000, 15], // 198.18/15 benchmarking
  [0xc6336400, 24], // TEST-NET-2
  [0xcb007100, 24], // TEST-NET-3
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved, broadcast
]

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0
}

/** True for an address that is not on the public internet (v4 or v6). */
export function isPrivateAddress(ip: string): boolean {
  const kind = isIP(ip)
  if (kind === 4) {
    const n = v4ToInt(ip)
    return V4_PRIVATE.some(([base, bits]) => n >>> (32 - bits) === base >>> (32 - bits))
  }
  if (kind === 6) {
    const a = ip.toLowerCase()
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
    if (mapped) return isPrivateAddress(mapped[1]!)
    return (
      a === '::' ||
      a === '::1' ||
      /^f[cd][0-9a-f]{2}:/.test(a) || // unique local fc00::/7
      /^fe[89ab][0-9a-f]:/.test(a) || // link-local fe80::/10
      /^ff[0-9a-f]{2}:/.test(a) || // multicast
      a.startsWith('64:ff9b:') || // NAT64 can reach private v4
      a.startsWith('2001:db8:') // documentation
    )
  }
  return true
}

/** Throws UnsafeUrl unless `url` is https to a host whose every address is public. */
export async function assertPublicHttps(url: string, resolve: (host: string) => Promise<string[]> = resolveAll): Promise<void> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new UnsafeUrl('is not a URL')
  }
  if (u.protocol !== 'https:') throw new UnsafeUrl('must use https')
  if (u.username || u.password) throw new UnsafeUrl('must not carry credentials')
  const host = u.hostname.replace(/^\[|\]$/g, '')
  let addresses: string[]
  try {
    addresses = isIP(host) ? [host] : await resolve(host)
  } catch {
    throw new UnsafeUrl(`host ${host} does not resolve`)
  }
  if (!addresses.length) throw new UnsafeUrl(`host ${host} does not resolve`)
  const bad = addresses.find(isPrivateAddress)
  if (bad) throw new UnsafeUrl(`points into a private network (${host} → ${bad}); webhooks of a shop go to public https addresses only`)
}

async function resolveAll(host: string): Promise<string[]> {
  const r = await lookup(host, { all: true, verbatim: true })
  return r.map((x) => x.address)
}
