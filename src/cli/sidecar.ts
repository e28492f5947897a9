// `edgewatch sidecar`: windows on scrape, ingestion and read API on :9465.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { startSidecar } from '../sidecar/server.js';
import { loadThresholds } from '../sidecar/thresholds.js';
import { untilSignal } from './signals.js';
import { pick, readHost, readInt, readPort } from './env.js';

export const DEFAULT_DB = './data/edgewatch.db';

export interface SidecarFlags {
  db?: string;
  port?: string;
  host?: string;
  token?: string;
  tokenFile?: string;
  thresholds?: string;
  thresholdsFile?: string;
  keepVersions?: string;
  maxStrategies?: string;
  maxVersions?: string;
}

/** The ledger path from a flag or EDGEWATCH_DB; the default's folder is created. */
export function ledgerPath(flag: string | undefined): string {
  const given = flag ?? process.env.EDGEWATCH_DB;
  const path = resolve(given ?? DEFAULT_DB);
  if (given === undefined) mkdirSync(dirname(path), { recursive: true });
  return path;
}

export function readToken(flags: SidecarFlags): string | undefined {
  const [inline, inlineName] = pick(flags.token, 'EDGEWATCH_TOKEN');
  const [file, fileName] = pick(flags.tokenFile, 'EDGEWATCH_TOKEN_FILE');
  if (inline && file) throw new ConfigError(`set ${inlineName} or ${fileName}, not both`);
  let token = inline;
  if (file) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${fileName}: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (token === undefined || token === '') return undefined;
  if (token.length < 16) throw new ConfigError(`${file ? fileName : inlineName} must be at least 16 characters (a long random string, e.g. openssl rand -hex 32)`);
  return token;
}

export async function runSidecarCommand(flags: SidecarFlags): Promise<void> {
  const db = ledgerPath(flags.db);
  const port = readPort(...pick(flags.port, 'EDGEWATCH_PORT'), 9465);
  const host = readHost(...pick(flags.host, 'EDGEWATCH_HOST'), '127.0.0.1');
  const token = readToken(flags);
  const thresholds = loadThresholds(flags.thresholds ?? process.env.EDGEWATCH_THRESHOLDS, flags.thresholdsFile ?? process.env.EDGEWATCH_THRESHOLDS_FILE);
  const keepVersions = readInt(...pick(flags.keepVersions, 'EDGEWATCH_KEEP_VERSIONS'), 5, 1, 1000);
  const maxStrategies = readInt(...pick(flags.maxStrategies, 'EDGEWATCH_MAX_STRATEGIES'), 100, 1, 100_000);
  const maxVersionsPerStrategy = readInt(...pick(flags.maxVersions, 'EDGEWATCH_MAX_VERSIONS'), 10_000, 1, 1_000_000);
  const log = createLogger('edgewatch-sidecar');
  const sidecar = await startSidecar({ db, port, host, token, thresholds, keepVersions, maxStrategies, maxVersionsPerStrategy, logger: log });
  log.info({ metrics: `${sidecar.url}/metrics`, report: `${sidecar.url}/v1/report?strategy=<name>&format=markdown`, ledger: db }, 'sidecar ready');
  await untilSignal(log, 'sidecar', () => sidecar.close());
}
