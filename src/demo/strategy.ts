// Two small strategies with a handful of numeric parameters. They only decide; the bot
// (bot.ts) records what they do through the public SDK, as a user's bot would.

export interface MomentumParams {
  lookback: number;
  entry_threshold: number;
  take_profit: number;
  stop_loss: number;
  position_size: number;
}

export interface MeanRevParams {
  window: number;
  z_entry: number;
  /** Skip entries when the price moved more than this over the window: a trend, not noise. */
  max_trend: number;
  stop_loss: number;
  position_size: number;
}

export interface Position {
  side: 'long' | 'short';
  entry: number;
  openedMs: number;
  ticks: number;
}

export interface Exit {
  side: 'long' | 'short';
  entry: number;
  exit: number;
  openedMs: number;
}

const MAX_HOLD_TICKS = 60;
const Z_EXIT = 0.3;

/** Decides entries and exits on a price history; holds at most one position. */
export class Trader {
  position?: Position;

  constructor(readonly kind: 'momentum' | 'meanrev') {}

  onTick(
    history: number[],
    price: number,
    nowMs: number,
    params: MomentumParams | MeanRevParams,
  ): { entered?: Position; exited?: Exit } {
    if (this.position) {
      const p = this.position;
      p.ticks++;
      const move = (price / p.entry - 1) * (p.side === 'long' ? 1 : -1);
      let done = p.ticks >= MAX_HOLD_TICKS || move <= -params.stop_loss;
      if (this.kind === 'momentum') done ||= move >= (params as MomentumParams).take_profit;
      else done ||= Math.abs(zscore(history, (params as MeanRevParams).window, price)) <= Z_EXIT;
      if (done) {
        this.position = undefined;
        return { exited: { side: p.side, entry: p.entry, exit: price, openedMs: p.openedMs } };
      }
      return {};
    }
    let side: 'long' | 'short' | undefined;
    if (this.kind === 'momentum') {
      const m = params as MomentumParams;
      if (history.length <= m.lookback) return {};
      const ret = price / history[history.length - 1 - m.lookback] - 1;
      if (ret > m.entry_threshold) side = 'long';
      else if (ret < -m.entry_threshold) side = 'short';
    } else {
      const m = params as MeanRevParams;
      if (history.length < m.window) return {};
      const z = zscore(history, m.window, price);
      if (Math.abs(price / history[history.length - m.window] - 1) > m.max_trend) return {};
      if (z > m.z_entry) side = 'short';
      else if (z < -m.z_entry) side = 'long';
    }
    if (!side) return {};
    this.position = { side, entry: price, openedMs: nowMs, ticks: 0 };
    return { entered: this.position };
  }
}

function zscore(history: number[], window: number, price: number): number {
  const xs = history.slice(-window);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return sd > 0 ? (price - mean) / sd : 0;
}
