// A Freqtrade backtest result written the way Freqtrade writes it: Python builds the stats
// dict with every key of a trade record (freqtrade/data/btanalysis.py BT_DATA_COLUMNS, plus
// funding_fees) and the strategy-level keys of generate_strategy_stats that matter here, dumps
// it with Python's json, and stores `backtest-result-<date>.zip` with zipfile.ZIP_DEFLATED
// (the JSON, the sanitized config, the strategy's source and parameters, market change
// data), its `.meta.json` beside it and `.last_result.json` naming the zip, as
// freqtrade/optimize/optimize_reports/bt_storage.py (2024.12+) does; and the plain .json that
// earlier releases wrote.
//
// The trades, hand-worked: 30 trades of 10 units at 10 (notional 100, fees 0.1% each way),
// alternately closed at 11 and at 9.5, one every 8 hours over a 10-day backtest:
//   win:  profit_abs = 10·11 − 100 − 0.1 − 0.11 = 9.79,  fees 0.21,  return 0.0979
//   loss: profit_abs = 95 − 100 − 0.1 − 0.095 = −5.195,  fees 0.195, return −0.05195
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const FT_STAMP = '2025-01-15_10-00-00';
export const FT_START_MS = Date.UTC(2024, 11, 1);
export const FT_END_MS = Date.UTC(2024, 11, 11);
export const FT_WIN = 9.79;
export const FT_LOSS = -5.195;

const SCRIPT = String.raw`
import json, os, sys, zipfile
from datetime import datetime, timezone, timedelta
out, stamp, start_ms, end_ms, strategies = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split(',')
def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime('%Y-%m-%d %H:%M:%S+00:00')
def trades(k):
    res = []
    for i in range(30):
        win = i % 2 == 0
        open_ms = start_ms + i * 8 * 3600 * 1000 + 3600 * 1000
        close_ms = open_ms + 4 * 3600 * 1000
        close_rate = 11.0 if win else 9.5
        profit = 9.79 if win else -5.195
        res.append({
            "pair": "BTC/USDT", "stake_amount": 100.0, "max_stake_amount": 100.0, "amount": 10.0,
            "open_date": iso(open_ms), "close_date": iso(close_ms), "open_rate": 10.0, "close_rate": close_rate,
            "fee_open": 0.001, "fee_close": 0.001, "trade_duration": 240,
            "profit_ratio": profit / 100.0, "profit_abs": profit * k, "exit_reason": "roi" if win else "stop_loss",
            "initial_stop_loss_abs": 9.0, "initial_stop_loss_ratio": -0.1, "stop_loss_abs": 9.0, "stop_loss_ratio": -0.1,
            "min_rate": min(10.0, close_rate), "max_rate": max(10.0, close_rate), "is_open": False, "enter_tag": None,
            "leverage": 1.0, "is_short": False, "open_timestamp": float(open_ms), "close_timestamp": float(close_ms),
            "orders": [{"amount": 10.0, "safe_price": 10.0, "ft_order_side": "buy", "order_filled_timestamp": open_ms, "ft_is_entry": True, "ft_order_tag": None}],
            "funding_fees": 0.0,
        })
    return res
stats = {"strategy": {}, "strategy_comparison": []}
for n, name in enumerate(strategies):
    t = trades(1 + n)
    total = sum(x["profit_abs"] for x in t)
    stats["strategy"][name] = {
        "trades": t, "locks": [], "best_pair": None, "worst_pair": None, "results_per_pair": [],
        "total_trades": len(t), "trade_count_long": len(t), "trade_count_short": 0,
        "total_volume": 3000.0, "avg_stake_amount": 100.0, "profit_mean": total / len(t) / 100.0,
        "profit_total_abs": total, "backtest_start": iso(start_ms), "backtest_start_ts": start_ms,
        "backtest_end": iso(end_ms), "backtest_end_ts": end_ms, "backtest_days": 10, "trades_per_day": 3.0,
        "stake_amount": 100.0, "stake_currency": "USDT", "stake_currency_decimals": 3, "starting_balance": 1000,
        "dry_run_wallet": 1000, "final_balance": 1000 + total, "max_open_trades": 1, "timeframe": "5m",
        "strategy_name": name, "max_drawdown_account": 0.0052, "max_relative_drawdown": 0.0052,
        "max_drawdown_abs": 5.195 * (1 + n), "wins": 15, "losses": 15, "draws": 0,
    }
    stats["strategy_comparison"].append({"key": name, "trades": len(t), "profit_total_abs": total})
base = os.path.join(out, "backtest-result-" + stamp)
text = json.dumps(stats, indent=None)
with open(base + ".json", "w") as f:
    f.write(text)
with open(base + ".meta.json", "w") as f:
    json.dump({s: {"run_id": "r1", "backtest_start_time": 1736935200, "timeframe": "5m", "backtest_start_ts": start_ms // 1000, "backtest_end_ts": end_ms // 1000} for s in strategies}, f)
name = os.path.basename(base)
with zipfile.ZipFile(base + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(name + ".json", text)
    z.writestr(name + "_config.json", json.dumps({"stake_currency": "USDT", "strategy": strategies[0]}))
    for s in strategies:
        z.writestr(name + "_" + s + ".py", "class " + s + "(IStrategy):\n    pass\n")
        z.writestr(name + "_" + s + ".json", json.dumps({"strategy_name": s, "params": {"roi": {"0": 0.1}}, "ft_stratparam_v": 1}))
    z.writestr(name + "_market_change.feather", bytes(range(256)) * 8)
with open(os.path.join(out, ".last_result.json"), "w") as f:
    json.dump({"latest_backtest": name + ".zip"}, f)
`;

/** Writes the result files into `dir`; returns their paths, or a skip reason without python3. */
export function writeFreqtradeResult(
  dir: string,
  strategies = ['SampleStrategy'],
): { json: string; zip: string; meta: string; skip?: undefined } | { skip: string } {
  const r = spawnSync(
    'python3',
    ['-c', SCRIPT, dir, FT_STAMP, String(FT_START_MS), String(FT_END_MS), strategies.join(',')],
    {
      encoding: 'utf8',
    },
  );
  if (r.error) return { skip: `python3 is needed to write a result file as Freqtrade does (${r.error.message})` };
  if (r.status !== 0) throw new Error(`writing the Freqtrade result failed: ${r.stderr}`);
  const base = join(dir, `backtest-result-${FT_STAMP}`);
  return { json: `${base}.json`, zip: `${base}.zip`, meta: `${base}.meta.json` };
}
