// Authorization. Writes: a bearer token compared in constant time; without a token, writes
// are accepted only when the sidecar listens on loopback (nobody else can reach it).
// Reads (the read API, /runbook): once any token is set, they need one too, since parameter
// values and PnL are a trader's edge. /metrics: only with its own optional token, so a plain
// Prometheus keeps working; /healthz and /readyz stay open for probes.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** The tokens beyond EDGEWATCH_TOKEN (which stays the CLI's business: src/cli/sidecar.ts). */
export interface AccessTokens {
  /** EDGEWATCH_READ_TOKEN: reads only (a dashboard, a report job); the write token reads too. */
  readToken?: string;
  /** EDGEWATCH_METRICS_TOKEN: /metrics only (Prometheus' credentials_file); read and write tokens also work. */
  metricsToken?: string;
}

/**
 * EDGEWATCH_READ_TOKEN / EDGEWATCH_READ_TOKEN_FILE and EDGEWATCH_METRICS_TOKEN /
 * EDGEWATCH_METRICS_TOKEN_FILE, with the rules of EDGEWATCH_TOKEN: one of the pair, at least
 * 16 characters; empty (or an empty file) means unset, so compose can pass an optional one.
 */
export function accessTokensFromEnv(env: NodeJS.ProcessEnv = process.env): AccessTokens {
  return { readToken: envToken(env, 'EDGEWATCH_READ_TOKEN'), metricsToken: envToken(env, 'EDGEWATCH_METRICS_TOKEN') };
}

function envToken(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const inline = env[name];
  const file = env[`${name}_FILE`];
  if (inline && file) throw new ConfigError(`set ${name} or ${name}_FILE, not both`);
  let token = inline;
  if (file) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (token === undefined || token === '') return undefined;
  if (token.length < 16)
    throw new ConfigError(
      `${file ? `${name}_FILE` : name} must be at least 16 characters (a long random string, e.g. openssl rand -hex 32)`,
    );
  return token;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Compares SHA-256 digests so that neither the content nor the length of the token leaks through timing. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  const given = createHash('sha256')
    .update(m ? m[1] : '')
    .digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null;
}

/**
 * A read credential: `Authorization: Bearer <token>` (scripts, Prometheus) or HTTP Basic
 * with the token as password and any user name, so that a browser opening a runbook or
 * report link can ask for it. Every token is compared (no early exit), in constant time.
 */
export function readCredentialMatches(header: string | undefined, tokens: readonly string[]): boolean {
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  let bearer = header;
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    bearer = colon >= 0 ? `Bearer ${decoded.slice(colon + 1)}` : undefined;
  }
  let ok = false;
  for (const token of tokens) ok = tokenMatches(bearer, token) || ok;
  return ok;
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
export function tokenlessRefusal(
  remoteAddress: string | undefined,
  hostHeader: string | undefined,
  origin: string | undefined,
): string | undefined {
  if (!isLoopbackAddress(remoteAddress)) return 'the client is not on this host';
  if (!isLoopback(hostnameOf(hostHeader) ?? ''))
    return 'the Host header does not name a loopback address (use 127.0.0.1, localhost or [::1])';
  if (origin !== undefined && !isLoopback(hostnameOf(origin.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')) ?? ''))
    return 'the request comes from a web page of another origin';
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
