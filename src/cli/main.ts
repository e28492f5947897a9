#!/usr/bin/env node
// The edgewatch command line.
import { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { runDemoCommand } from './demo.js';

const program = new Command();
program.name('edgewatch').description('Watch a trading bot\'s edge with Prometheus, Alertmanager and Grafana.').showHelpAfterError();

program
  .command('demo')
  .description('run the demo bot: a simulated market and two strategies instrumented with the SDK (metrics on :9464)')
  .option('--db <path>', 'ledger file (EDGEWATCH_DB, default ./data/edgewatch.db)')
  .option('--port <port>', 'bot metrics port (EDGEWATCH_BOT_PORT, default 9464)')
  .option('--host <host>', 'bot metrics host (EDGEWATCH_BOT_HOST, default 127.0.0.1)')
  .option('--degrade', 'make the momentum strategy lose, to watch the alerts fire (EDGEWATCH_DEMO_DEGRADE)')
  .option('--seed <n>', 'market seed (EDGEWATCH_DEMO_SEED, default 42)')
  .option('--tick-ms <ms>', 'live tick period (EDGEWATCH_DEMO_TICK_MS, default 500)')
  .action((flags) => runDemoCommand(flags));

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`edgewatch: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

void main();
