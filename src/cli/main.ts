#!/usr/bin/env node
// The edgewatch command line. Its conventions (docs/cli.md): errors are one line on stderr,
// `edgewatch: <what>: <fix>`; exit 0 ok, 1 runtime failure, 2 usage error; every read
// command takes --json; every option has help text.
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, ConflictError, EdgewatchError, LedgerError } from '../errors.js';
import { runDemoCommand, type DemoFlags } from './demo.js';
import { StartupError } from './failure.js';
import { runSidecarCommand, type SidecarFlags } from './sidecar.js';
import { runStartCommand, type StartFlags } from './start.js';
import { registerImportCommand } from './import.js';
import {
  experimentsList,
  experimentsShow,
  experimentsStop,
  paramsDiff,
  paramsHistory,
  paramsShow,
  report,
  type ReadOpts,
} from './inspect.js';
import { paramsExpect, paramsExpectation, type ExpectOpts } from './expectation.js';

const program = new Command();
program
  .name('edgewatch')
  .description("Watch a trading bot's edge with Prometheus, Alertmanager and Grafana.")
  // Commander prints its own errors and exits 1; we print one line and exit 2 (main()).
  // Set before the subcommands are added: they inherit both settings.
  .exitOverride()
  .configureOutput({ outputError: () => undefined });

const dbHelp =
  'ledger file (default: EDGEWATCH_DB, else ./data/edgewatch.db; npm run stack writes data/stack/edgewatch.db)';
// --strategy is checked by the command, not marked required: Commander reports a missing
// required option before an unknown one, so `--stratgy x` said "--strategy not specified".
const strategyHelp = 'strategy name as recorded in the ledger (an unknown one lists the known ones)';
const jsonHelp = 'print JSON instead of text';

program
  .command('demo')
  .description('run the demo bot: a simulated market and two strategies instrumented with the SDK (metrics on :9464)')
  .option('--db <path>', dbHelp)
  .option('--port <port>', 'bot metrics port (EDGEWATCH_BOT_PORT, default 9464)')
  .option('--host <host>', 'bot metrics host (EDGEWATCH_BOT_HOST, default 127.0.0.1)')
  .option('--degrade', 'make the momentum strategy lose, to watch the alerts fire (EDGEWATCH_DEMO_DEGRADE)')
  .option('--seed <n>', 'market seed (EDGEWATCH_DEMO_SEED, default 42)')
  .option('--tick-ms <ms>', 'live tick period (EDGEWATCH_DEMO_TICK_MS, default 500)')
  .action((flags: DemoFlags) => runDemoCommand(flags));

program
  .command('sidecar')
  .description('run the sidecar: rolling windows and drift on scrape, HTTP ingestion and read API (:9465)')
  .option('--db <path>', dbHelp)
  .option('--port <port>', 'listen port (EDGEWATCH_PORT, default 9465)')
  .option('--host <host>', 'listen address (EDGEWATCH_HOST, default 127.0.0.1)')
  .option('--token <token>', 'bearer token required for writes (EDGEWATCH_TOKEN)')
  .option('--token-file <path>', 'file holding the token (EDGEWATCH_TOKEN_FILE)')
  .option('--thresholds <json>', 'alert thresholds {"defaults":{...},"strategies":{...}} (EDGEWATCH_THRESHOLDS)')
  .option('--thresholds-file <path>', 'the same, from a file (EDGEWATCH_THRESHOLDS_FILE)')
  .option('--keep-versions <k>', 'per-version series for the newest K versions (EDGEWATCH_KEEP_VERSIONS, default 5)')
  .option('--max-strategies <n>', 'refuse new strategies beyond this (EDGEWATCH_MAX_STRATEGIES, default 100)')
  .option(
    '--max-versions <n>',
    'refuse new parameter versions of a strategy beyond this (EDGEWATCH_MAX_VERSIONS, default 10000)',
  )
  .option(
    '--freqtrade-api <url>',
    "pull closed trades from Freqtrade's REST API (EDGEWATCH_FREQTRADE_API; see docs/integrations.md)",
  )
  .option(
    '--freqtrade-db <path>',
    "pull closed trades from Freqtrade's tradesv3.sqlite, read-only (EDGEWATCH_FREQTRADE_DB)",
  )
  .option('--freqtrade-params-file <path>', 'hyperopt <Strategy>.json to deploy (EDGEWATCH_FREQTRADE_PARAMS_FILE)')
  .option('--freqtrade-interval <s>', 'seconds between two Freqtrade reads (EDGEWATCH_FREQTRADE_INTERVAL, default 30)')
  .option('--freqtrade-settle <s>', 'import trades closed this long ago (EDGEWATCH_FREQTRADE_SETTLE, default 60)')
  .action((flags: SidecarFlags) => runSidecarCommand(flags));

program
  .command('start')
  .description('run the demo bot and the sidecar together (npm start); both start or neither does')
  .option('--db <path>', dbHelp)
  .option('--port <port>', 'sidecar port (EDGEWATCH_PORT, default 9465)')
  .option('--host <host>', 'sidecar listen address (EDGEWATCH_HOST, default 127.0.0.1)')
  .option('--bot-port <port>', 'demo bot metrics port (EDGEWATCH_BOT_PORT, default 9464)')
  .option('--seed <n>', 'demo market seed (EDGEWATCH_DEMO_SEED, default 42)')
  .option('--degrade', 'start the demo degraded (EDGEWATCH_DEMO_DEGRADE; kill -USR2 <pid> toggles)')
  .action((flags: StartFlags) => runStartCommand(flags));

const params = program.command('params').description('parameter versions of a strategy');
params
  .command('history')
  .description('every deploy, oldest first, then the versions never deployed (experiment variants)')
  .option('--strategy <name>', `required: ${strategyHelp}`)
  .option('--db <path>', dbHelp)
  .option('--json', jsonHelp)
  .action((o: ReadOpts) => paramsHistory(o));
params
  .command('show <version>')
  .description("one version's parameters (always JSON)")
  .option('--strategy <name>', `required: ${strategyHelp}`)
  .option('--db <path>', dbHelp)
  .option('--json', 'print JSON (the default for this command)')
  .action((v: string, o: ReadOpts) => paramsShow(v, o));
params
  .command('diff <from> <to>')
  .description('keys added, removed and changed between two versions')
  .option('--strategy <name>', `required: ${strategyHelp}`)
  .option('--db <path>', dbHelp)
  .option('--json', jsonHelp)
  .action((a: string, b: string, o: ReadOpts) => paramsDiff(a, b, o));
params
  .command('expect <version>')
  .description("record what a version's backtest promised (the sidecar compares live trades with it)")
  .option('--strategy <name>', `required: ${strategyHelp}`)
  .option(
    '--freqtrade <path>',
    'a Freqtrade backtest-result-*.json or .zip, .last_result.json, or its backtest_results folder',
  )
  .option('--freqtrade-strategy <name>', 'the strategy to take from a result of several (--strategy-list)')
  .option('--file <path>', 'a JSON file shaped like the body of POST /v1/params/<strategy>/<version>/expectation')
  .option('--fee-per-trade <x>', 'fee per trade the backtest assumed, quote currency (default: from the trades)')
  .option('--note <text>', 'a note kept with the expectation')
  .option('--db <path>', dbHelp)
  .option('--json', jsonHelp)
  .action((v: string, o: ExpectOpts) => paramsExpect(v, o));
params
  .command('expectation <version>')
  .description("a version's recorded expectation")
  .option('--strategy <name>', `required: ${strategyHelp}`)
  .option('--db <path>', dbHelp)
  .option('--json', jsonHelp)
  .action((v: string, o: ReadOpts) => paramsExpectation(v, o));

const experiments = program.command('experiments').description('experiments and their results');
experiments
  .command('list')
  .description('every experiment, running or stopped')
  .option('--strategy <name>', `only this strategy: ${strategyHelp}`)
  .option('--db <path>', dbHelp)
  .option('--json', jsonHelp)
  .action((o: ReadOpts) => experimentsList(o));
experiments
  .command('show <name>')
  .description('variants, statistics and p-values (always JSON)')
  .option('--strategy <name>', `only this strategy: ${strategyHelp}`)
  .option('--db <path>', dbHelp)
  .option('--json', 'print JSON (the default for this command)')
  .action((n: string, o: ReadOpts) => experimentsShow(n, o));
experiments
  .command('stop <name>')
  .description('stop a running experiment (like POST /v1/experiments/<name>/stop); then deploy the winner')
  .option('--strategy <name>', `the experiment's strategy (needed when several run one of that name): ${strategyHelp}`)
  .option('--winner <variant>', 'the variant that won, e.g. candidate (none: stopped with no change)')
  .option('--outcome <text>', 'a note on the decision, kept in the ledger')
  .option('--db <path>', dbHelp)
  .option('--json', jsonHelp)
  .action((n: string, o: Parameters<typeof experimentsStop>[1]) => experimentsStop(n, o));

program
  .command('report')
  .description('windows, drift, versions ranked, experiments and recommendations')
  .option('--strategy <name>', `required: ${strategyHelp}`)
  .addOption(new Option('--window <w>', 'window').choices(['1h', '24h', '7d']).default('24h'))
  .addOption(new Option('--format <f>', 'output format').choices(['md', 'markdown', 'json']).default('md'))
  .option('--json', 'the same as --format json')
  .option('--db <path>', dbHelp)
  .action((o: Parameters<typeof report>[0]) => report(o));

registerImportCommand(program);

/** `edgewatch <command> [sub]` from argv, for "see ... --help" in an error. */
function commandPath(argv: string[]): string {
  const words = ['edgewatch'];
  let cmd: Command = program;
  for (const a of argv.slice(2)) {
    const sub = cmd.commands.find((c) => c.name() === a);
    if (!sub) break;
    words.push(a);
    cmd = sub;
  }
  return words.join(' ');
}

/** Commander's "error: unknown option '--x'\n(Did you mean --y?)" as our one line. */
function usageLine(err: CommanderError): string {
  const [first, ...rest] = err.message.split('\n');
  const what = first.replace(/^error: /, '').replace(/\.$/, '');
  const guess = rest.join(' ').match(/Did you mean (.+?)\?/);
  return `${what}: ${guess ? `did you mean ${guess[1]}? ` : ''}see ${commandPath(process.argv)} --help`;
}

function fail(message: string, code: number): never {
  process.stderr.write(`edgewatch: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
      // `edgewatch` or `edgewatch params` alone: the help went to stderr; a usage error.
      if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync') process.exit(2);
      fail(usageLine(err), 2);
    }
    if (err instanceof ConfigError) fail(err.message, 2);
    if (err instanceof StartupError) fail(err.message, 1);
    // e.g. a ledger on a read-only file system: one line, not a stack trace.
    if (err instanceof LedgerError)
      fail(`${err.message}: check the ledger path (--db / EDGEWATCH_DB), its folder's permissions and free space`, 1);
    if (err instanceof ConflictError) fail(err.message, 1);
    if (err instanceof EdgewatchError) fail(err.message, 2);
    // A bug, not a mistake of the user's: keep the stack for the report.
    process.stderr.write(`edgewatch: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  }
}

void main();
