// `edgewatch start` (npm start): the demo bot and the sidecar as two processes on one
// ledger, as they run in production; Ctrl-C stops both.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ledgerPath } from './sidecar.js';

export async function runStartCommand(flags: { db?: string; degrade?: boolean }): Promise<void> {
  const db = ledgerPath(flags.db);
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const env = { ...process.env, EDGEWATCH_DB: db };
  const children: ChildProcess[] = [];
  const run = (args: string[]) => {
    const child = spawn(process.execPath, [main, ...args], { env, stdio: 'inherit' });
    children.push(child);
    return new Promise<number>((done) => child.on('exit', (code, signal) => done(code ?? (signal ? 0 : 1))));
  };
  // The demo first: on a new ledger it back-fills 8 days before the sidecar reads it.
  const bot = run(['demo', ...(flags.degrade ? ['--degrade'] : [])]);
  await new Promise((r) => setTimeout(r, 1500));
  const sidecar = run(['sidecar']);
  const botPort = process.env.EDGEWATCH_BOT_PORT ?? '9464';
  const port = process.env.EDGEWATCH_PORT ?? '9465';
  process.stdout.write(
    `\nedgewatch is running on ${db}\n` +
      `  bot metrics      http://127.0.0.1:${botPort}/metrics\n` +
      `  sidecar metrics  http://127.0.0.1:${port}/metrics\n` +
      `  report           http://127.0.0.1:${port}/v1/report?strategy=momentum&format=markdown\n` +
      `  Ctrl-C stops both.\n\n`,
  );
  const stop = (signal: NodeJS.Signals) => {
    for (const c of children) if (c.exitCode === null) c.kill(signal);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const codes = await Promise.all([bot, sidecar]);
  process.exitCode = Math.max(...codes);
}
