// `edgewatch demo`: the demo bot on its own (metrics on :9464).
import { DemoBot } from '../demo/bot.js';
import { createLogger, logSettings, type Logger } from '../log.js';
import { untilSignal } from './signals.js';
import { pick, readBool, readHost, readInt, readPort } from './env.js';
import { StartupError, checkPortFree, listenFailure, type PortSetting } from './failure.js';
import { ledgerPath } from './sidecar.js';

export interface DemoFlags {
  db?: string;
  port?: string;
  host?: string;
  degrade?: boolean;
  seed?: string;
  tickMs?: string;
}

export interface DemoSettings {
  listen: PortSetting;
  degrade: boolean;
  seed: number;
  tickMs: number;
}

/**
 * Every demo setting, checked before anything starts. `portFlag` is the flag that sets the
 * bot's port in the command at hand (`demo --port`, `start --bot-port`), for the error.
 */
export function demoSettings(flags: DemoFlags, portFlag = '--port', hostFlag = '--host'): DemoSettings {
  const port = readPort(...pick(flags.port, portFlag, 'EDGEWATCH_BOT_PORT'), 9464);
  const host = readHost(...pick(flags.host, hostFlag, 'EDGEWATCH_BOT_HOST'), '127.0.0.1');
  return {
    listen: { port, host, what: 'demo bot metrics', flag: portFlag, env: 'EDGEWATCH_BOT_PORT' },
    degrade: flags.degrade ?? readBool(process.env.EDGEWATCH_DEMO_DEGRADE, 'EDGEWATCH_DEMO_DEGRADE', false),
    seed: readInt(...pick(flags.seed, '--seed', 'EDGEWATCH_DEMO_SEED'), 42, 0, 2 ** 31),
    tickMs: readInt(...pick(flags.tickMs, '--tick-ms', 'EDGEWATCH_DEMO_TICK_MS'), 500, 10, 60_000),
  };
}

/** Opens the ledger, back-fills a new one, serves metrics; failures are one-line errors. */
export async function launchDemo(db: string, s: DemoSettings, log: Logger): Promise<{ bot: DemoBot; url: string }> {
  // Before the back-fill: a taken port must not leave a week of trades behind.
  await checkPortFree(s.listen);
  const bot = new DemoBot({
    ledger: db,
    port: s.listen.port,
    host: s.listen.host,
    degrade: s.degrade,
    seed: s.seed,
    tickMs: s.tickMs,
    logger: log,
  });
  try {
    return { bot, url: await bot.start() };
  } catch (err) {
    await bot.stop().catch(() => undefined);
    const e = listenFailure(err, s.listen);
    throw e instanceof StartupError ? e : err;
  }
}

export async function runDemoCommand(flags: DemoFlags): Promise<void> {
  logSettings();
  const settings = demoSettings(flags);
  const db = ledgerPath(flags.db);
  const log = createLogger('edgewatch-demo');
  const { bot, url } = await launchDemo(db, settings, log);
  log.info(
    { url, ledger: db, degraded: settings.degrade },
    `demo bot trading; metrics at ${url} (kill -USR2 ${process.pid} toggles degrade)`,
  );
  process.on('SIGUSR2', () => bot.setDegraded(!bot.degraded));
  await untilSignal(log, 'demo bot', () => bot.stop());
}
