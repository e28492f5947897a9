#!/usr/bin/env node
// The edgewatch command line.
import { Command } from 'commander';
import { ConfigError, EdgewatchError } from '../errors.js';
import { runDemoCommand } from './demo.js';
import { runSidecarCommand } from './sidecar.js';
import { runStartCommand } from './start.js';
import { experimentsList, experimentsShow, paramsDiff, paramsHistory, paramsShow, report } from './inspect.js';

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

program
  .command('sidecar')
  .description('run the sidecar: rolling windows and drift on scrape, HTTP ingestion and read API (:9465)')
  .option('--db <path>', 'ledger file (EDGEWATCH_DB, default ./data/edgewatch.db)')
  .option('--port <port>', 'listen port (EDGEWATCH_PORT, default 9465)')
  .option('--host <host>', 'listen address (EDGEWATCH_HOST, default 127.0.0.1)')
  .option('--token <token>', 'bearer token required for writes (EDGEWATCH_TOKEN)')
  .option('--token-file <path>', 'file holding the token (EDGEWATCH_TOKEN_FILE)')
  .option('--thresholds <json>', 'alert thresholds {"defaults":{...},"strategies":{...}} (EDGEWATCH_THRESHOLDS)')
  .option('--thresholds-file <path>', 'the same, from a file (EDGEWATCH_THRESHOLDS_FILE)')
  .option('--keep-versions <k>', 'per-version series for the newest K versions (EDGEWATCH_KEEP_VERSIONS, default 5)')
  .option('--max-strategies <n>', 'refuse new strategies beyond this (EDGEWATCH_MAX_STRATEGIES, default 100)')
  .option('--max-versions <n>', 'refuse new parameter versions of a strategy beyond this (EDGEWATCH_MAX_VERSIONS, default 10000)')
  .action((flags) => runSidecarCommand(flags));

program
  .command('start')
  .description('run the demo bot and the sidecar together on ./data/edgewatch.db (npm start)')
  .option('--db <path>', 'ledger file (EDGEWATCH_DB)')
  .option('--degrade', 'start the demo degraded')
  .action((flags) => runStartCommand(flags));

const db = '--db <path>';
const dbHelp = 'ledger file (EDGEWATCH_DB, default ./data/edgewatch.db)';
const params = program.command('params').description('parameter versions of a strategy');
params.command('history').description('every deploy, oldest first').requiredOption('--strategy <name>').option(db, dbHelp).option('--json').action((o) => paramsHistory(o));
params.command('show <version>').description('one version\'s parameters').requiredOption('--strategy <name>').option(db, dbHelp).action((v, o) => paramsShow(v, o));
params.command('diff <from> <to>').description('keys added, removed and changed between two versions').requiredOption('--strategy <name>').option(db, dbHelp).action((a, b, o) => paramsDiff(a, b, o));

const experiments = program.command('experiments').description('experiments and their results');
experiments.command('list').option('--strategy <name>').option(db, dbHelp).action((o) => experimentsList(o));
experiments.command('show <name>').description('variants, statistics and p-values').option('--strategy <name>').option(db, dbHelp).action((n, o) => experimentsShow(n, o));

program
  .command('report')
  .description('windows, drift, versions ranked, experiments and recommendations')
  .requiredOption('--strategy <name>')
  .option('--window <w>', '1h, 24h or 7d', '24h')
  .option('--format <f>', 'md or json', 'md')
  .option(db, dbHelp)
  .action((o) => report(o));

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`edgewatch: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof EdgewatchError) {
      // e.g. a ledger on a read-only file system: one line, not a stack trace.
      process.stderr.write(`edgewatch: ${err.message} (check EDGEWATCH_DB / --db)\n`);
      process.exit(1);
    }
    throw err;
  }
}

void main();
