// `edgewatch start` (npm start): the demo bot and the sidecar on one ledger; Ctrl-C stops both.
//
// Both run in this one process (in production they are two: the bot, and `edgewatch sidecar`).
// Why: as two child processes, a part that failed left the other running under a "running"
// banner, and their logs, written by two processes through two pipes, reached the terminal
// out of time order. In one process the start is a sequence that either completes or undoes
// what it did, and one logger writes every line in the order it happened.
import { createLogger, logSettings } from '../log.js';
import { demoSettings, launchDemo } from './demo.js';
import { ledgerPath, launchSidecar, sidecarSettings } from './sidecar.js';
import { untilSignal } from './signals.js';
import { StartupError, checkPortFree } from './failure.js';
import { lockLedger } from './lock.js';

export interface StartFlags {
  db?: string;
  degrade?: boolean;
  port?: string;
  host?: string;
  botPort?: string;
  seed?: string;
}

export async function runStartCommand(flags: StartFlags): Promise<void> {
  // Every setting first: a mistake stops the start before anything has run.
  logSettings();
  const sidecarConfig = sidecarSettings({ port: flags.port, host: flags.host });
  const demoConfig = demoSettings({ port: flags.botPort, degrade: flags.degrade, seed: flags.seed }, '--bot-port');
  if (sidecarConfig.port !== 0 && sidecarConfig.port === demoConfig.listen.port)
    throw new StartupError(
      `the sidecar and the demo bot both want port ${sidecarConfig.port}: give them different ones (--port, --bot-port)`,
    );
  // Then everything that can be checked without starting: both ports and the ledger's
  // sidecar lock. The demo's back-fill writes a week of trades: not for a start that fails.
  await checkPortFree(sidecarConfig.listen);
  await checkPortFree(demoConfig.listen);
  const db = ledgerPath(flags.db);
  const lock = lockLedger(db);
  const root = createLogger();
  // The demo first: on a new ledger it back-fills 8 days before the sidecar reads it.
  let demo;
  try {
    demo = await launchDemo(db, demoConfig, root.child({ name: 'edgewatch-demo' }));
  } catch (err) {
    lock?.release();
    throw err;
  }
  const { bot, url: botUrl } = demo;
  let sidecar;
  try {
    sidecar = await launchSidecar(db, sidecarConfig, root.child({ name: 'edgewatch-sidecar' }), lock);
  } catch (err) {
    await bot.stop(); // all or nothing: no demo trading on without its sidecar
    throw err;
  }
  process.on('SIGUSR2', () => bot.setDegraded(!bot.degraded));
  process.stdout.write(
    // The pages first: what a person opens; then the machine endpoints.
    `\nedgewatch is running: open ${sidecar.url}/ in a browser\n` +
      `  report page      ${sidecar.url}/report/momentum\n` +
      `  ledger           ${db}\n` +
      `  bot metrics      ${botUrl}\n` +
      `  sidecar metrics  ${sidecar.url}/metrics\n` +
      `  report (API)     ${sidecar.url}/v1/report?strategy=momentum&format=markdown\n` +
      `  inspect          npx edgewatch report --strategy momentum --db ${db}\n` +
      `  ${bot.degraded ? 'undo the degrade' : 'degrade the demo'}  kill -USR2 ${process.pid}\n` +
      `  Ctrl-C stops both.\n\n`,
  );
  await untilSignal(root, 'edgewatch', async () => {
    await sidecar.close();
    await bot.stop();
  });
}
