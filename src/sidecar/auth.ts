// Write authorization: a bearer token compared in constant time; without a token, writes
// are accepted only when the sidecar listens on loopback (nobody else can reach it).
import { createHash, timingSafeEqual } from 'node:crypto';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Compares SHA-256 digests so that neither the content nor the length of the token leaks through timing. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  const given = createHash('sha256').update(m ? m[1] : '').digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null;
}

/** A socket peer address on this host (IPv4, IPv6, or IPv4-mapped IPv6). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address);
}

/**
 * Without a token, loopback is the only protection, and a browser on this host can reach
 * loopback too: a page on another site (Origin) or a DNS-rebinding page (Host names a
 * domain that now resolves to 127.0.0.1) must not write. So a tokenless write must come
 * from a loopback peer that addresses the sidecar by a loopback name, with no foreign Origin.
 * Returns why the request is refused, or undefined.
 */
export function tokenlessRefusal(remoteAddress: string | undefined, hostHeader: string | undefined, origin: string | undefined): string | undefined {
  if (!isLoopbackAddress(remoteAddress)) return 'the client is not on this host';
  if (!isLoopback(hostnameOf(hostHeader) ?? '')) return 'the Host header does not name a loopback address (use 127.0.0.1, localhost or [::1])';
  if (origin !== undefined && !isLoopback(hostnameOf(origin.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')) ?? '')) return 'the request comes from a web page of another origin';
  return undefined;
}

function hostnameOf(authority: string | undefined): string | undefined {
  if (!authority) return undefined;
  try {
    return new URL(`http://${authority}`).hostname;
  } catch {
    return undefined;
  }
}
