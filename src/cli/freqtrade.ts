// Freqtrade settings of the CLI: the sidecar's pull (--freqtrade-api | --freqtrade-db) and
// `edgewatch import freqtrade --api URL | --db PATH`. Credentials come from the environment
// only (EDGEWATCH_FREQTRADE_USER, EDGEWATCH_FREQTRADE_PASSWORD or _PASSWORD_FILE), never
// from a flag: a flag shows in `ps` and in the shell's history.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { NAME_RE, NAME_RULE } from '../model/names.js';
import { FreqtradeApi } from '../integrations/freqtrade/api.js';
import { FreqtradeDb } from '../integrations/freqtrade/db.js';
import { readParamsFile } from '../integrations/freqtrade/params.js';
import { ApiSource, DbSource, type FtSource } from '../integrations/freqtrade/sources.js';
import { pick, readInt } from './env.js';

export interface FreqtradeFlags {
  freqtradeApi?: string;
  freqtradeDb?: string;
  freqtradeParamsFile?: string;
  freqtradeInterval?: string;
  freqtradeSettle?: string;
}

export interface FreqtradeSettings {
  source: FtSource;
  paramsFile?: string;
  intervalMs: number;
  settleMs: number;
}

export const DEFAULT_SETTLE_S = 60;
export const DEFAULT_INTERVAL_S = 30;

/** The source named by an API URL or a database path (exactly one), with the credentials of the environment. */
export function freqtradeSource(api: string | undefined, db: string | undefined, names: [string, string]): FtSource {
  if (api && db) throw new ConfigError(`give ${names[0]} or ${names[1]}, not both`);
  if (db) return new DbSource(new FreqtradeDb(db));
  if (!api) throw new ConfigError(`give ${names[0]} <url> or ${names[1]} <path>`);
  const user = process.env.EDGEWATCH_FREQTRADE_USER || undefined;
  const inline = process.env.EDGEWATCH_FREQTRADE_PASSWORD || undefined;
  const file = process.env.EDGEWATCH_FREQTRADE_PASSWORD_FILE || undefined;
  if (inline && file)
    throw new ConfigError('set EDGEWATCH_FREQTRADE_PASSWORD or EDGEWATCH_FREQTRADE_PASSWORD_FILE, not both');
  let password = inline;
  if (file) {
    try {
      password = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`EDGEWATCH_FREQTRADE_PASSWORD_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if ((user === undefined) !== (password === undefined))
    throw new ConfigError(
      'set both EDGEWATCH_FREQTRADE_USER and EDGEWATCH_FREQTRADE_PASSWORD (api_server.username / password)',
    );
  return new ApiSource(new FreqtradeApi({ url: api, username: user, password }));
}

/** A parameter file is read once at start-up so that a wrong path stops the start. */
export function checkParamsFile(path: string | undefined, name: string): string | undefined {
  if (path === undefined || path === '') return undefined;
  try {
    readParamsFile(path);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`);
  }
  return path;
}

export function settleMs(value: string | undefined, name: string): number {
  return readInt(value, name, DEFAULT_SETTLE_S, 0, 7 * 86400) * 1000;
}

/** The sidecar's pull, or undefined when neither --freqtrade-api nor --freqtrade-db is set. */
export function freqtradePullSettings(flags: FreqtradeFlags): FreqtradeSettings | undefined {
  const [api, apiName] = pick(flags.freqtradeApi, '--freqtrade-api', 'EDGEWATCH_FREQTRADE_API');
  const [db, dbName] = pick(flags.freqtradeDb, '--freqtrade-db', 'EDGEWATCH_FREQTRADE_DB');
  const [paramsFile, paramsName] = pick(
    flags.freqtradeParamsFile,
    '--freqtrade-params-file',
    'EDGEWATCH_FREQTRADE_PARAMS_FILE',
  );
  checkWebhookStrategy();
  if (!api && !db) {
    if (paramsFile) throw new ConfigError(`${paramsName} needs --freqtrade-api or --freqtrade-db`);
    return undefined;
  }
  return {
    source: freqtradeSource(api || undefined, db || undefined, [apiName, dbName]),
    paramsFile: checkParamsFile(paramsFile, paramsName),
    intervalMs:
      readInt(
        ...pick(flags.freqtradeInterval, '--freqtrade-interval', 'EDGEWATCH_FREQTRADE_INTERVAL'),
        DEFAULT_INTERVAL_S,
        1,
        86400,
      ) * 1000,
    settleMs: settleMs(...pick(flags.freqtradeSettle, '--freqtrade-settle', 'EDGEWATCH_FREQTRADE_SETTLE')),
  };
}

/** EDGEWATCH_FREQTRADE_STRATEGY (the webhook's default strategy), checked at start-up. */
export function checkWebhookStrategy(): void {
  const s = process.env.EDGEWATCH_FREQTRADE_STRATEGY;
  if (s && !NAME_RE.test(s)) throw new ConfigError(`EDGEWATCH_FREQTRADE_STRATEGY ${NAME_RULE} (got "${s}")`);
}
