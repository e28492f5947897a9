// Freqtrade's webhook for the tests: the message as freqtradebot._notify_exit builds it, and
// its sending by Python (test/support/freqtrade_webhook.py: str.format rendering, requests).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../test/support/freqtrade_webhook.py', import.meta.url));
const INTEGRATIONS_MD = fileURLToPath(new URL('../../../docs/integrations.md', import.meta.url));

export type Format = 'form' | 'json' | 'raw';

/** The webhook block of docs/integrations.md (the first ```json block holding "webhook"). */
export function documentedWebhook(): { url: string; format: string; exit_fill: Record<string, string> } {
  const md = readFileSync(INTEGRATIONS_MD, 'utf8');
  for (const m of md.matchAll(/```json\n([\s\S]*?)```/g)) {
    const parsed = JSON.parse(`{${m[1].trim().replace(/,$/, '')}}`) as { webhook?: unknown };
    if (parsed.webhook) return parsed.webhook as ReturnType<typeof documentedWebhook>;
  }
  throw new Error('docs/integrations.md has no webhook block');
}

export interface ExitMsg {
  tradeId: number;
  pair: string;
  short?: boolean;
  /** Python datetimes in ISO form with offset, e.g. "2024-10-24T09:29:03.123456+00:00". */
  openDate: string;
  closeDate: string;
  profitAmount: number;
  cumulativeProfit: number;
  stakeAmount: number;
  leverage?: number | null;
  isFinalExit?: boolean;
  subTrade?: boolean;
  type?: 'exit_fill' | 'exit' | 'entry_fill' | 'status';
  exitReason?: string | null;
}

/** The dict _notify_exit sends to the RPC handlers (freqtradebot.py, 2024.10), in the script's encoding. */
export function exitMsg(m: ExitMsg): Record<string, unknown> {
  const f = (x: number) => ({ $float: x });
  return {
    type: { $type: m.type ?? 'exit_fill' },
    trade_id: m.tradeId,
    exchange: 'Binance',
    pair: m.pair,
    leverage: m.leverage === null ? null : f(m.leverage ?? 1),
    direction: m.short ? 'Short' : 'Long',
    gain: m.profitAmount > 0 ? 'profit' : 'loss',
    limit: f(101.5),
    order_rate: f(101.5),
    order_type: 'limit',
    amount: f(0.98),
    open_rate: f(100.0),
    close_rate: f(101.5),
    current_rate: null,
    profit_amount: f(m.profitAmount),
    profit_ratio: f(0.0137),
    buy_tag: null,
    enter_tag: null,
    exit_reason: m.exitReason === undefined ? 'roi' : m.exitReason,
    open_date: { $datetime: m.openDate },
    close_date: { $datetime: m.closeDate },
    stake_amount: f(m.stakeAmount),
    stake_currency: 'USDT',
    base_currency: m.pair.split('/')[0],
    quote_currency: 'USDT',
    fiat_currency: 'USD',
    sub_trade: m.subTrade ?? false,
    cumulative_profit: f(m.cumulativeProfit),
    final_profit_ratio: m.isFinalExit === false ? null : f(0.0137),
    is_final_exit: m.isFinalExit ?? true,
  };
}

export interface Sent {
  status: number;
  body: string;
  /** The rendered payload: every value a string, as Freqtrade sends it. */
  payload: Record<string, string>;
  client: string;
}

/**
 * Sends `msg` rendered through `valuedict` with Freqtrade's code path (python3 + requests).
 * Asynchronous: the sidecar under test answers from this same process.
 */
export function sendAsFreqtrade(
  url: string,
  format: Format,
  valuedict: Record<string, string>,
  msg: Record<string, unknown>,
): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`freqtrade_webhook.py failed (${code}): ${err}`));
      else resolve(JSON.parse(out) as Sent);
    });
    child.stdin.end(JSON.stringify({ url, format, valuedict, msg }));
  });
}

/** A raw-format "data" template rendering the same fields as JSON (braces doubled for str.format). */
export function rawTemplate(valuedict: Record<string, string>): Record<string, string> {
  const fields = Object.entries(valuedict).map(([k, v]) => `"${k}": "${v}"`);
  return { data: `{{${fields.join(', ')}}}` };
}
