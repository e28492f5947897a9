// `edgewatch import freqtrade --api URL | --db PATH`: one pass of the sidecar's Freqtrade
// pull, writing the ledger directly (like `experiments stop`), so a history can be
// back-filled before the sidecar first starts, or with it running. Running it again imports
// only what is new: a trade already in the ledger is skipped.
import type { Command } from 'commander';
import { ConfigError, LedgerError } from '../errors.js';
import { FreqtradeApiError } from '../integrations/freqtrade/api.js';
import { FreqtradeSync, type SyncResult } from '../integrations/freqtrade/sync.js';
import { Ledger } from '../ledger/ledger.js';
import { silentLogger } from '../log.js';
import { StartupError } from './failure.js';
import { DEFAULT_SETTLE_S, checkParamsFile, checkWebhookStrategy, freqtradeSource, settleMs } from './freqtrade.js';
import { ledgerPath } from './sidecar.js';

export interface ImportFreqtradeFlags {
  api?: string;
  db?: string;
  paramsFile?: string;
  settle?: string;
  ledger?: string;
  json?: boolean;
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('bring closed trades in from a trading bot')
    .command('freqtrade')
    .description(
      "import Freqtrade's closed trades and strategy parameters once (the sidecar's --freqtrade-* pull, once)",
    )
    .option(
      '--api <url>',
      "Freqtrade's REST API, e.g. http://127.0.0.1:8080 (credentials: EDGEWATCH_FREQTRADE_USER/PASSWORD)",
    )
    .option('--db <path>', "Freqtrade's database (tradesv3.sqlite), opened read-only")
    .option('--params-file <path>', 'hyperopt parameter file <Strategy>.json to record as a deploy')
    .option('--settle <seconds>', `import trades closed at least this long ago (default ${DEFAULT_SETTLE_S})`)
    .option('--ledger <path>', 'edgewatch ledger to write (default: EDGEWATCH_DB, else ./data/edgewatch.db)')
    .option('--json', 'print the result as JSON')
    .action((o: ImportFreqtradeFlags) => runImportFreqtrade(o));
}

export async function runImportFreqtrade(flags: ImportFreqtradeFlags): Promise<void> {
  // Settings first: a mistake stops the command before the ledger is opened.
  const source = freqtradeSource(flags.api, flags.db, ['--api', '--db']);
  const paramsFile = checkParamsFile(flags.paramsFile, '--params-file');
  const settle = settleMs(flags.settle, '--settle');
  checkWebhookStrategy();
  const ledger = Ledger.open(ledgerPath(flags.ledger));
  let result: SyncResult;
  try {
    const sync = new FreqtradeSync(ledger, source, { settleMs: settle, paramsFile, log: silentLogger() });
    result = await sync.runOnce();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof LedgerError || err instanceof StartupError) throw err;
    if (err instanceof FreqtradeApiError) throw new StartupError(err.message);
    // SQLite's own errors on Freqtrade's file (busy, corrupt): the world, not the command line.
    throw new StartupError(`reading ${source.label} failed: ${(err as Error).message}`);
  } finally {
    ledger.close();
  }
  if (flags.json) process.stdout.write(`${JSON.stringify({ ledger: ledger.path, ...result }, null, 2)}\n`);
  else process.stdout.write(summary(result, ledger.path, settle));
  for (const r of result.rejected)
    process.stderr.write(`edgewatch: Freqtrade trade ${r.id} not imported: ${r.error.replace(/\s*\n\s*/g, ' ')}\n`);
  if (result.rejected.length) process.exitCode = 1;
}

function summary(r: SyncResult, ledgerFile: string, settle: number): string {
  const lines = [
    `imported ${r.accepted} trade${r.accepted === 1 ? '' : 's'} into ${ledgerFile}`,
    `  already in the ledger  ${r.duplicates}`,
    `  refused                ${r.rejected.length}`,
    `  closed < ${settle / 1000} s ago      ${r.pending} (the next import takes them)`,
  ];
  if (r.deploy && 'version' in r.deploy)
    lines.push(
      `parameters: ${r.deploy.created ? 'new version' : 'version'} ${r.deploy.version} of ${r.deploy.strategy} deployed at ${r.deploy.deployedAt}`,
    );
  else if (r.deploy) lines.push(`parameters: not deployed: ${r.deploy.skipped}`);
  return `${lines.join('\n')}\n`;
}
