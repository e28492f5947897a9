// `edgewatch sidecar`: windows on scrape, ingestion and read API on :9465.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { createLogger, logSettings, type Logger } from '../log.js';
import { startSidecar, type Sidecar, type SidecarOptions } from '../sidecar/server.js';
import { loadThresholds } from '../sidecar/thresholds.js';
import { untilSignal } from './signals.js';
import { pick, readHost, readInt, readPort } from './env.js';
import { StartupError, checkPortFree, listenFailure, type PortSetting } from './failure.js';
import { lockLedger } from './lock.js';
import { freqtradePullSettings, type FreqtradeFlags } from './freqtrade.js';
import { startFreqtradePoller } from '../integrations/freqtrade/poller.js';

export const DEFAULT_DB = './data/edgewatch.db';

export interface SidecarFlags extends FreqtradeFlags {
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

/**
 * The ledger path from a flag or EDGEWATCH_DB, its folder created. Every writer (sidecar,
 * demo, start, the SDK) creates the folder the same way: the sidecar used to refuse a path
 * that `start` accepted.
 */
export function ledgerPath(flag: string | undefined): string {
  const path = resolve(flag ?? process.env.EDGEWATCH_DB ?? DEFAULT_DB);
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw new StartupError(
      `cannot create the ledger's folder ${dirname(path)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): choose another --db or EDGEWATCH_DB`,
    );
  }
  return path;
}

export function readToken(flags: SidecarFlags): string | undefined {
  const [inline, inlineName] = pick(flags.token, '--token', 'EDGEWATCH_TOKEN');
  const [file, fileName] = pick(flags.tokenFile, '--token-file', 'EDGEWATCH_TOKEN_FILE');
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
  if (token.length < 16)
    throw new ConfigError(
      `${file ? fileName : inlineName} must be at least 16 characters (a long random string, e.g. openssl rand -hex 32)`,
    );
  return token;
}

export interface SidecarSettings extends Omit<SidecarOptions, 'db' | 'logger'> {
  port: number;
  host: string;
  listen: PortSetting;
}

/** Every sidecar setting, checked before anything starts (a bad one is a ConfigError). */
export function sidecarSettings(flags: SidecarFlags): SidecarSettings {
  const port = readPort(...pick(flags.port, '--port', 'EDGEWATCH_PORT'), 9465);
  const host = readHost(...pick(flags.host, '--host', 'EDGEWATCH_HOST'), '127.0.0.1');
  return {
    port,
    host,
    listen: { port, host, what: 'sidecar', flag: '--port', env: 'EDGEWATCH_PORT' },
    token: readToken(flags),
    thresholds: loadThresholds(
      flags.thresholds ?? process.env.EDGEWATCH_THRESHOLDS,
      flags.thresholdsFile ?? process.env.EDGEWATCH_THRESHOLDS_FILE,
    ),
    keepVersions: readInt(...pick(flags.keepVersions, '--keep-versions', 'EDGEWATCH_KEEP_VERSIONS'), 5, 1, 1000),
    maxStrategies: readInt(
      ...pick(flags.maxStrategies, '--max-strategies', 'EDGEWATCH_MAX_STRATEGIES'),
      100,
      1,
      100_000,
    ),
    maxVersionsPerStrategy: readInt(
      ...pick(flags.maxVersions, '--max-versions', 'EDGEWATCH_MAX_VERSIONS'),
      10_000,
      1,
      1_000_000,
    ),
  };
}

/**
 * Starts a sidecar on `db`: the ledger's lock, then the server. A taken port or a second
 * sidecar on the same ledger is a StartupError with one line naming the fix.
 */
export async function launchSidecar(
  db: string,
  settings: SidecarSettings,
  log: Logger,
  lock = lockLedger(db),
): Promise<Sidecar> {
  try {
    await checkPortFree(settings.listen);
  } catch (err) {
    lock?.release();
    throw err;
  }
  let sidecar: Sidecar;
  try {
    sidecar = await startSidecar({ ...settings, db, logger: log });
  } catch (err) {
    lock?.release();
    throw listenFailure(err, settings.listen);
  }
  lock?.update(sidecar.url);
  return {
    ...sidecar,
    close: async () => {
      await sidecar.close();
      lock?.release();
    },
  };
}

export async function runSidecarCommand(flags: SidecarFlags): Promise<void> {
  logSettings();
  const settings = sidecarSettings(flags);
  const freqtrade = freqtradePullSettings(flags);
  const db = ledgerPath(flags.db);
  const log = createLogger('edgewatch-sidecar');
  // The port before the lock: a taken port is the likelier mistake, and says so first.
  await checkPortFree(settings.listen);
  const sidecar = await launchSidecar(db, settings, log);
  // Freqtrade's pull writes through the sidecar's own ledger handle, as the HTTP routes do.
  const poller =
    freqtrade && startFreqtradePoller({ ...freqtrade, ledger: sidecar.ledger, metrics: sidecar.metrics, log });
  log.info(
    {
      metrics: `${sidecar.url}/metrics`,
      report: `${sidecar.url}/v1/report?strategy=<name>&format=markdown`,
      ledger: db,
      ...(freqtrade ? { freqtrade: freqtrade.source.label } : {}),
    },
    'sidecar ready',
  );
  await untilSignal(log, 'sidecar', async () => {
    await poller?.stop();
    await sidecar.close();
  });
}
