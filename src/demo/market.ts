// A seeded, regime-switching random walk: trending, ranging and volatile spells, so that a
// momentum and a mean-reversion strategy each have an edge some of the time.

/** mulberry32: a small, fast, seeded PRNG (reproducible demos and tests). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

type Regime = 'trend_up' | 'trend_down' | 'range' | 'volatile';
const REGIMES: Record<Regime, { drift: number; vol: number; pull: number }> = {
  trend_up: { drift: 0.0006, vol: 0.0015, pull: 0 },
  trend_down: { drift: -0.0006, vol: 0.0015, pull: 0 },
  range: { drift: 0, vol: 0.0012, pull: 0.25 },
  volatile: { drift: 0, vol: 0.004, pull: 0 },
};
const NAMES = Object.keys(REGIMES) as Regime[];

export class Market {
  price: number;
  regime: Regime = 'range';
  private anchor: number;
  private readonly rand: () => number;

  constructor(
    readonly symbol: string,
    seed: number,
    start = 100,
  ) {
    this.rand = rng(seed);
    this.price = start;
    this.anchor = start;
  }

  /** Advances one tick (a simulated minute) and returns the new price. */
  tick(): number {
    if (this.rand() < 0.004) {
      this.regime = NAMES[Math.floor(this.rand() * NAMES.length)];
      this.anchor = this.price;
    }
    const r = REGIMES[this.regime];
    const ret = r.drift + r.vol * gaussian(this.rand) - r.pull * Math.log(this.price / this.anchor);
    this.price *= Math.exp(ret);
    return this.price;
  }
}
