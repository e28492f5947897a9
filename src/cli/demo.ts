// `edgewatch demo`: the demo bot on its own (metrics on :9464).
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DemoBot } from '../demo/bot.js';
import { createLogger } from '../log.js';
import { untilSignal } from './signals.js';
import { pick, readBool, readHost, readInt, readPort } from './env.js';

export interface DemoFlags {
  db?: string;
  port?: string;
  host?: string;
  degrade?: boolean;
  seed?: string;
  tickMs?: string;
}

export async function runDemoCommand(flags: DemoFlags): Promise<void> {
  const db = resolve(flags.db ?? process.env.EDGEWATCH_DB ?? './data/edgewatch.db');
  const port = readPort(...pick(flags.port, 'EDGEWATCH_BOT_PORT'), 9464);
  const host = readHost(...pick(flags.host, 'EDGEWATCH_BOT_HOST'), '127.0.0.1');
  const degrade = flags.degrade ?? readBool(process.env.EDGEWATCH_DEMO_DEGRADE, 'EDGEWATCH_DEMO_DEGRADE', false);
  const seed = readInt(...pick(flags.seed, 'EDGEWATCH_DEMO_SEED'), 42, 0, 2 ** 31);
  const tickMs = readInt(...pick(flags.tickMs, 'EDGEWATCH_DEMO_TICK_MS'), 500, 10, 60_000);
  mkdirSync(dirname(db), { recursive: true });
  const log = createLogger('edgewatch-demo');
  const bot = new DemoBot({ ledger: db, port, host, degrade, seed, tickMs, logger: log });
  const url = await bot.start();
  log.info({ url, ledger: db, degraded: degrade }, `demo bot trading; metrics at ${url} (kill -USR2 ${process.pid} toggles degrade)`);
  process.on('SIGUSR2', () => bot.setDegraded(!bot.degraded));
  await untilSignal(log, 'demo bot', () => bot.stop());
}
