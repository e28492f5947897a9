// The demo bot: two strategies on a simulated market, instrumented only through the public
// SDK (`openEdgewatch`), the way a user's bot would be. On first start it back-fills 8 days
// of history (parameter deploys, an experiment) so that the 24h and 7d windows have data at
// once; then it trades live. `degrade` makes the momentum strategy lose (slippage and
// rejected orders), so an operator can watch the alerts fire.
import { openEdgewatch, type Edgewatch, type StrategyHandle } from '../index.js';
import type { Logger } from '../log.js';
import { Market, gaussian, rng } from './market.js';
import { Trader, type MeanRevParams, type MomentumParams } from './strategy.js';

export interface DemoOptions {
  ledger: string;
  port?: number;
  host?: string;
  /** Start degraded (also toggled at run time by setDegraded / SIGUSR2 in the CLI). */
  degrade?: boolean;
  seed?: number;
  /** Live tick period; each tick is one simulated minute of market. */
  tickMs?: number;
  backfillDays?: number;
  logger?: Logger | false;
}

const DAY = 86_400_000;
const MINUTE = 60_000;
const FEE_RATE = 0.0005;

const SETUP = {
  momentum: {
    symbols: ['BTC-USD', 'ETH-USD', 'SOL-USD'],
    // version history: v1 at day -8, v2 at day -7; experiment day -6 .. -4; its winner deployed at day -4,
    // so the active version has days of its own history (drift compares a version with itself)
    v1: { lookback: 20, entry_threshold: 0.004, take_profit: 0.008, stop_loss: 0.005, position_size: 1000 },
    v2: { lookback: 15, entry_threshold: 0.005, take_profit: 0.01, stop_loss: 0.005, position_size: 1000 },
    candidate: { lookback: 25, entry_threshold: 0.005, take_profit: 0.01, stop_loss: 0.005, position_size: 1000 },
  },
  meanrev: {
    symbols: ['EUR-USD', 'GBP-USD'],
    v1: { window: 30, z_entry: 1.6, max_trend: 0.006, stop_loss: 0.006, position_size: 1000 },
    v2: { window: 20, z_entry: 1.8, max_trend: 0.006, stop_loss: 0.006, position_size: 1000 },
  },
} as const;

type Params = MomentumParams | MeanRevParams;

interface Lane {
  strategy: 'momentum' | 'meanrev';
  handle: StrategyHandle;
  market: Market;
  trader: Trader;
  history: number[];
  params?: Params;
  /** Id of the lane's next or open position: its experiment variant is remembered by the SDK under it. */
  position?: string;
}

export class DemoBot {
  readonly ew: Edgewatch;
  degraded: boolean;
  private readonly lanes: Lane[] = [];
  private readonly rand: () => number;
  private timer?: NodeJS.Timeout;
  private seq = 0;
  private positionSeq = 0;
  private readonly equity: Record<string, number> = { momentum: 10_000, meanrev: 10_000 };
  /** Net PnL and trades per experiment variant, as a bot keeps them to decide its experiment. */
  private readonly variantPnl = new Map<string, { n: number; sum: number }>();
  recorded = 0;

  constructor(private readonly opts: DemoOptions) {
    this.ew = openEdgewatch({ ledger: opts.ledger, strategies: ['momentum', 'meanrev'], logger: opts.logger });
    this.degraded = opts.degrade ?? false;
    const seed = opts.seed ?? 42;
    this.rand = rng(seed);
    let i = 0;
    for (const strategy of ['momentum', 'meanrev'] as const)
      for (const symbol of SETUP[strategy].symbols)
        this.lanes.push({
          strategy,
          handle: this.ew.strategy(strategy),
          market: new Market(symbol, seed * 1000 + i++),
          trader: new Trader(strategy),
          history: [],
        });
  }

  /** Back-fills history on a new ledger, serves metrics and starts trading live. */
  async start(): Promise<string> {
    if (!this.ew.strategy('momentum').activeVersion) this.backfill(Date.now());
    this.tickAll(Date.now()); // heartbeat, equity and positions are there at the first scrape
    const server = await this.ew.serve({ port: this.opts.port ?? 9464, host: this.opts.host ?? '127.0.0.1' });
    this.timer = setInterval(() => void this.tickAll(Date.now()), this.opts.tickMs ?? 500);
    return server.url;
  }

  setDegraded(on: boolean): void {
    this.degraded = on;
    this.ew.log.warn({ degraded: on }, on ? 'demo degraded: momentum now loses on every fill' : 'demo back to normal');
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ew.close();
  }

  /** Simulates `backfillDays` of history with past timestamps: deploys, an experiment, trades. */
  backfill(nowMs: number): void {
    const days = this.opts.backfillDays ?? 8;
    const start = nowMs - days * DAY;
    const momentum = this.ew.strategy('momentum');
    const meanrev = this.ew.strategy('meanrev');
    const at = (d: number) => nowMs - d * DAY;
    const events: Array<[number, () => void]> = [
      [
        start,
        () =>
          momentum.params.deploy(
            { ...SETUP.momentum.v1 },
            { source: 'demo', gitSha: 'a1b2c3d', note: 'initial parameters', at: start },
          ),
      ],
      [
        start,
        () =>
          meanrev.params.deploy(
            { ...SETUP.meanrev.v1 },
            { source: 'demo', gitSha: 'a1b2c3d', note: 'initial parameters', at: start },
          ),
      ],
      [
        at(7),
        () =>
          momentum.params.deploy(
            { ...SETUP.momentum.v2 },
            { source: 'demo', gitSha: 'b2c3d4e', note: 'faster lookback', at: at(7) },
          ),
      ],
      [
        at(6),
        () =>
          momentum.experiments.start({
            name: 'lookback-25',
            variants: { control: { ...SETUP.momentum.v2 }, candidate: { ...SETUP.momentum.candidate } },
            at: at(6),
          }),
      ],
      [
        at(4),
        () =>
          meanrev.params.deploy(
            { ...SETUP.meanrev.v2 },
            { source: 'demo', gitSha: 'c3d4e5f', note: 'wider window', at: at(4) },
          ),
      ],
      [
        at(4),
        () => {
          // The variant with the better PnL per trade wins (edgewatch report gives the p-value;
          // a two-day demo experiment rarely has a significant one).
          const mean = (v: string) => {
            const x = this.variantPnl.get(v);
            return x && x.n > 0 ? x.sum / x.n : -Infinity;
          };
          const winner = mean('candidate') > mean('control') ? 'candidate' : 'control';
          momentum.experiments.stop('lookback-25', { outcome: 'concluded', winner, at: at(4) });
          const params = winner === 'candidate' ? SETUP.momentum.candidate : SETUP.momentum.v2;
          momentum.params.deploy(
            { ...params },
            { source: 'demo', gitSha: 'd4e5f6a', note: `experiment lookback-25: ${winner} won`, at: at(4) },
          );
        },
      ],
    ];
    let next = 0;
    for (let t = start; t <= nowMs; t += MINUTE) {
      while (next < events.length && events[next][0] <= t) events[next++][1]();
      this.tickAll(t, true);
    }
    while (next < events.length) events[next++][1]();
  }

  /** One tick of every lane: market moves, strategies decide, the SDK records. */
  tickAll(nowMs: number, backfill = false): void {
    for (const lane of this.lanes) {
      const run = () => this.tickLane(lane, nowMs, backfill);
      if (backfill) run();
      else void lane.handle.iteration(run);
    }
    if (!backfill) {
      for (const s of ['momentum', 'meanrev'] as const) {
        this.ew.strategy(s).setEquity(this.equity[s]);
        this.ew.strategy(s).setOpenPositions(this.lanes.filter((l) => l.strategy === s && l.trader.position).length);
      }
    }
  }

  private tickLane(lane: Lane, nowMs: number, backfill: boolean): void {
    const price = lane.market.tick();
    if (!lane.trader.position) this.chooseParams(lane);
    if (!lane.params) return;
    const { entered, exited } = lane.trader.onTick(lane.history, price, nowMs, lane.params);
    lane.history.push(price);
    if (lane.history.length > 200) lane.history.shift();
    if (entered && !backfill) this.order(lane);
    if (exited) {
      const size = lane.params.position_size;
      const dir = exited.side === 'long' ? 1 : -1;
      let pnl = size * dir * (exited.exit / exited.entry - 1);
      const fees = 2 * FEE_RATE * size;
      // Stale quotes: every live fill slips. The back-filled history stays healthy, so the
      // degradation shows as drift against it.
      if (this.degraded && !backfill && lane.strategy === 'momentum') pnl -= size * 0.006 * (1 + 0.5 * this.rand());
      // The SDK records the trade under the variant assigned to this position at entry (none if
      // the experiment has stopped since: then it is plain trading); read it first for our tally.
      const position = lane.position;
      const variant = position === undefined ? undefined : lane.handle.experiments.variantOf(position);
      const r = lane.handle.trades.record({
        id: `${lane.market.symbol}-${nowMs}-${++this.seq}`,
        symbol: lane.market.symbol,
        side: exited.side,
        pnl: round(pnl - fees),
        fees: round(fees),
        notional: size,
        openedAt: exited.openedMs,
        closedAt: nowMs,
        ...(position !== undefined ? { position } : {}),
      });
      if (r.ok) {
        // The next position gets a new id. After a failed record the id is kept: the next
        // position's assign() replaces its assignment rather than leaving it behind.
        lane.position = undefined;
        this.recorded++;
        this.equity[lane.strategy] += pnl - fees;
        if (variant) {
          const v = this.variantPnl.get(variant) ?? { n: 0, sum: 0 };
          this.variantPnl.set(variant, { n: v.n + 1, sum: v.sum + pnl - fees });
        }
      }
      if (!backfill) this.order(lane);
    }
  }

  /**
   * Picks the parameters of the lane's next position while it is flat. The position id stays
   * the same until that position closes, so re-assigning it on every flat tick replaces one
   * remembered assignment instead of piling up new ones.
   */
  private chooseParams(lane: Lane): void {
    lane.position ??= `${lane.market.symbol}-pos-${++this.positionSeq}`;
    const assignment = lane.handle.experiments.assign({
      position: lane.position,
      key: lane.market.symbol + ':' + Math.floor(this.rand() * 1e9),
    });
    lane.params = (assignment ? assignment.params : lane.handle.activeVersion?.params) as unknown as Params | undefined;
  }

  private order(lane: Lane): void {
    const rejectRate = this.degraded && lane.strategy === 'momentum' ? 0.2 : 0.01;
    const status = this.rand() < rejectRate ? 'rejected' : 'filled';
    lane.handle.orders.record({ status, latencySeconds: Math.exp(-3.5 + 0.6 * gaussian(this.rand)) });
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
