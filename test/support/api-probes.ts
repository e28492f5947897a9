// The requests test/contracts-api.test.ts sends to real sidecars, and the status each must
// get. Adding a route or a status: add here a request for each status of docs/openapi.json
// that the generic probes (by security scheme: writeToken, readBearer, metricsBearer) do not
// already provoke; the test says which are missing.
import { deref, exampleBody, loadOpenApi, operations, OPENAPI_FILE, type Node, type Operation } from './openapi.js';

export const doc = loadOpenApi();
export const OPS = operations(doc.paths);
export const op = (key: string): Operation => {
  const found = OPS.find((o) => o.key === key);
  if (!found) throw new Error(`${OPENAPI_FILE} has no operation ${key}, which test/support/api-probes.ts probes`);
  return found;
};

/** The examples' clock: they are written for 2026-11-27T12:00:00Z. */
export const NOW = Date.parse('2026-11-27T12:00:00Z');
export const WRITE = 'write-token-0123456789';
export const READ = 'read-token-0123456789';
export const METRICS = 'metrics-token-0123456789';

export type Server = 'open' | 'token' | 'capped' | 'closed';

export interface Probe {
  /** The operation as in the document: "POST /v1/params". */
  op: string;
  status: number;
  why: string;
  on?: Server;
  /** Path and query; default: the documented examples. */
  url?: string;
  /** A JSON body; default: the first documented example of a write, none for a read. */
  body?: unknown;
  raw?: { type: string; text: string };
  headers?: Record<string, string>;
}

const example = (key: string, name?: string): Node => {
  const o = op(key);
  if (!name) return exampleBody(doc, o);
  return deref(doc, o.op.requestBody).content['application/json'].examples[name].value;
};
const trade = () => example('POST /v1/trades', 'one');
const FT = 'POST /v1/integrations/freqtrade';
const basic = (token: string) => `Basic ${Buffer.from(`any:${token}`).toString('base64')}`;

/** Requests in order (each may rely on the ones before it), and the status each must get. */
export const PROBES: Probe[] = [
  { op: 'POST /v1/params', status: 201, why: 'a new parameter set' },
  { op: 'POST /v1/params', status: 200, why: 'the same set again re-activates its version' },
  { op: 'POST /v1/params', status: 400, why: 'params not an object', body: { strategy: 'momentum', params: [1] } },
  { op: 'POST /v1/trades', status: 201, why: 'a new trade' },
  { op: 'POST /v1/trades', status: 200, why: 'the same trade again (a retry)' },
  { op: 'POST /v1/trades', status: 409, why: 'the same id with another pnl', body: { ...trade(), pnl: 13 } },
  { op: 'POST /v1/trades', status: 400, why: 'an unknown side', body: { ...trade(), side: 'buy' } },
  { op: 'POST /v1/trades', status: 201, why: 'a batch', body: example('POST /v1/trades', 'batch') },
  { op: 'POST /v1/heartbeat', status: 200, why: 'a beat' },
  { op: 'POST /v1/heartbeat', status: 400, why: 'no strategy', body: {} },
  { op: 'POST /v1/experiments', status: 201, why: 'an experiment' },
  {
    op: 'POST /v1/experiments',
    status: 409,
    why: 'a second one while it runs',
    body: { ...example('POST /v1/experiments'), name: 'other' },
  },
  {
    op: 'POST /v1/experiments',
    status: 400,
    why: 'no control',
    body: { strategy: 'momentum', name: 'x', variants: { a: {} } },
  },
  {
    op: 'POST /v1/trades',
    status: 201,
    why: "trades of the experiment's arms",
    body: {
      trades: [1, -2, 3, 2, -1, 4].map((pnl, i) => ({
        id: `arm-${i}`,
        strategy: 'momentum',
        symbol: 'BTC-USD',
        side: 'long',
        closed_at: NOW + i * 1000,
        pnl,
        notional: 1000,
        experiment: 'lookback-30',
        variant: i % 2 ? 'candidate' : 'control',
      })),
    },
  },
  { op: 'GET /v1/params', status: 200, why: 'a strategy with versions' },
  { op: 'GET /v1/params', status: 400, why: 'no strategy', url: '/v1/params' },
  { op: 'GET /v1/params/{strategy}/{version}', status: 200, why: 'v1' },
  { op: 'GET /v1/params/{strategy}/{version}', status: 404, why: 'v9', url: '/v1/params/momentum/v9' },
  { op: 'GET /v1/params/{strategy}/{version}', status: 400, why: 'not a label', url: '/v1/params/momentum/latest' },
  { op: 'POST /v1/params/{strategy}/{version}/expectation', status: 201, why: "a backtest's summary" },
  { op: 'POST /v1/params/{strategy}/{version}/expectation', status: 200, why: 'the same again stores nothing' },
  {
    op: 'POST /v1/params/{strategy}/{version}/expectation',
    status: 201,
    why: 'a trade list',
    body: example('POST /v1/params/{strategy}/{version}/expectation', 'trades'),
  },
  {
    op: 'POST /v1/params/{strategy}/{version}/expectation',
    status: 400,
    why: 'too few backtest trades',
    body: { summary: { trades: 10, trades_per_day: 1, pnl_mean: 1, pnl_sd: 2 } },
  },
  {
    op: 'POST /v1/params/{strategy}/{version}/expectation',
    status: 404,
    why: 'v9',
    url: '/v1/params/momentum/v9/expectation',
  },
  { op: 'GET /v1/params/{strategy}/{version}/expectation', status: 200, why: 'v1, active: with its live comparison' },
  {
    op: 'GET /v1/params/{strategy}/{version}/expectation',
    status: 200,
    why: 'with the kept outcomes',
    url: '/v1/params/momentum/v1/expectation?outcomes=true',
  },
  {
    op: 'GET /v1/params/{strategy}/{version}/expectation',
    status: 400,
    why: 'not a label',
    url: '/v1/params/momentum/latest/expectation',
  },
  {
    op: 'GET /v1/params/{strategy}/{version}/expectation',
    status: 404,
    why: 'v2 (the candidate) has none',
    url: '/v1/params/momentum/v2/expectation',
  },
  { op: 'GET /v1/params/{strategy}/diff', status: 200, why: 'v1 to v2 (the candidate)' },
  { op: 'GET /v1/params/{strategy}/diff', status: 404, why: 'v9', url: '/v1/params/momentum/diff?from=v1&to=v9' },
  { op: 'GET /v1/params/{strategy}/diff', status: 400, why: 'no to', url: '/v1/params/momentum/diff?from=v1' },
  { op: 'GET /v1/experiments', status: 200, why: 'every experiment' },
  { op: 'GET /v1/experiments', status: 400, why: 'a bad strategy name', url: '/v1/experiments?strategy=a%20b' },
  { op: 'GET /v1/report', status: 200, why: 'JSON' },
  { op: 'GET /v1/report', status: 200, why: 'Markdown', url: '/v1/report?strategy=momentum&format=markdown&window=7d' },
  { op: 'GET /v1/report', status: 400, why: 'window 2h', url: '/v1/report?strategy=momentum&window=2h' },
  { op: 'GET /v1/report', status: 404, why: 'an unknown strategy', url: '/v1/report?strategy=nosuch' },
  { op: 'POST /v1/experiments/{name}/stop', status: 200, why: 'stop with a winner' },
  { op: 'POST /v1/experiments/{name}/stop', status: 409, why: 'already stopped' },
  {
    op: 'POST /v1/experiments/{name}/stop',
    status: 404,
    why: 'no such experiment',
    url: '/v1/experiments/nosuch/stop',
    body: {},
  },
  { op: 'POST /v1/experiments/{name}/stop', status: 400, why: 'a bad winner name', body: { winner: 'a b' } },
  { op: 'GET /healthz', status: 200, why: 'up' },
  { op: 'GET /readyz', status: 200, why: 'a writable ledger' },
  { op: 'GET /metrics', status: 200, why: 'a scrape' },
  { op: 'GET /runbook', status: 200, why: 'the installed runbook' },
  // The pages (HTML), on the strategy the probes above recorded.
  { op: 'GET /', status: 200, why: 'the overview' },
  { op: 'GET /strategies/{name}', status: 200, why: 'a strategy with trades, versions and an experiment' },
  { op: 'GET /strategies/{name}', status: 404, why: 'an unknown strategy', url: '/strategies/nosuch' },
  { op: 'GET /strategies/{name}', status: 400, why: 'not a name', url: '/strategies/a%20b' },
  { op: 'GET /report/{name}', status: 200, why: 'the 24h report' },
  { op: 'GET /report/{name}', status: 404, why: 'an unknown strategy', url: '/report/nosuch' },
  { op: 'GET /report/{name}', status: 400, why: 'window 2h', url: '/report/momentum?window=2h' },
  // With tokens: the right credential opens each gate (the generic probes show the 401s).
  {
    on: 'token',
    op: 'GET /v1/params',
    status: 200,
    why: 'the read token',
    headers: { authorization: `Bearer ${READ}` },
  },
  { on: 'token', op: 'GET /v1/params', status: 200, why: 'HTTP Basic', headers: { authorization: basic(READ) } },
  {
    on: 'token',
    op: 'GET /metrics',
    status: 200,
    why: 'the metrics token',
    headers: { authorization: `Bearer ${METRICS}` },
  },
  {
    on: 'token',
    op: 'POST /v1/heartbeat',
    status: 200,
    why: 'the write token',
    headers: { authorization: `Bearer ${WRITE}` },
  },
  // Caps of 1 strategy and 1 version per strategy; no runbook installed.
  {
    on: 'capped',
    op: 'POST /v1/params',
    status: 201,
    why: 'the one strategy',
    body: { strategy: 'momentum', params: { a: 1 } },
  },
  {
    on: 'capped',
    op: 'POST /v1/params',
    status: 422,
    why: 'a second version',
    body: { strategy: 'momentum', params: { a: 2 } },
  },
  {
    on: 'capped',
    op: 'POST /v1/trades',
    status: 422,
    why: 'a second strategy',
    body: { ...trade(), strategy: 'other' },
  },
  { on: 'capped', op: 'POST /v1/heartbeat', status: 422, why: 'a second strategy', body: { strategy: 'other' } },
  {
    on: 'capped',
    op: 'POST /v1/experiments',
    status: 422,
    why: 'a second strategy',
    body: { strategy: 'other', name: 'e', variants: { control: { a: 1 }, candidate: { a: 2 } } },
  },
  { on: 'capped', op: 'GET /runbook', status: 404, why: 'not installed' },
  // A ledger that cannot be read or written (closed under the running sidecar).
  { on: 'closed', op: 'GET /readyz', status: 503, why: 'not writable' },
  { on: 'closed', op: 'GET /metrics', status: 200, why: 'a scrape serves what it has' },
  { on: 'closed', op: 'GET /v1/params', status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /v1/experiments', status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /v1/report', status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /v1/params/{strategy}/{version}/expectation', status: 503, why: 'a storage fault' },
  {
    on: 'closed',
    op: 'POST /v1/experiments',
    status: 503,
    why: 'a storage fault while reading the version a variant names',
    body: example('POST /v1/experiments', 'byVersion'),
  },
  { on: 'closed', op: 'GET /v1/params/{strategy}/{version}', status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /v1/params/{strategy}/diff', status: 503, why: 'a storage fault' },
  // Freqtrade's webhook (docs/integrations.md): its own schemes (Basic or Bearer), so its own probes.
  { op: FT, status: 201, why: 'a final exit_fill' },
  { op: FT, status: 200, why: 'the same exit_fill again (a Freqtrade retry)' },
  { op: FT, status: 200, why: 'a partial exit', body: example(FT, 'partialExit') },
  {
    op: FT,
    status: 200,
    why: 'another message type, form-encoded',
    raw: { type: 'application/x-www-form-urlencoded', text: 'type=status&status=Status%3A+running' },
  },
  { op: FT, status: 400, why: 'direction Sideways', body: { ...example(FT), trade_id: '44', direction: 'Sideways' } },
  {
    op: FT,
    status: 403,
    why: 'tokenless, from a page of another origin',
    headers: { origin: 'http://attacker.example' },
  },
  {
    op: FT,
    status: 413,
    why: 'a body over 64 kB',
    raw: { type: 'application/json', text: JSON.stringify({ pad: 'x'.repeat(70_000) }) },
  },
  { op: FT, status: 415, why: 'an XML body', raw: { type: 'application/xml', text: '<exit_fill/>' } },
  { on: 'token', op: FT, status: 401, why: 'no token where EDGEWATCH_TOKEN is set' },
  {
    on: 'token',
    op: FT,
    status: 201,
    why: 'HTTP Basic with the token as password, as Freqtrade sends it',
    headers: { authorization: basic(WRITE) },
    body: { ...example(FT), trade_id: '45' },
  },
  {
    on: 'token',
    op: FT,
    status: 200,
    why: 'Bearer, the same trade again',
    headers: { authorization: `Bearer ${WRITE}` },
    body: { ...example(FT), trade_id: '45' },
  },
  { on: 'capped', op: FT, status: 422, why: 'a second strategy', body: { ...example(FT), strategy: 'other' } },
  { on: 'closed', op: FT, status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /', status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /strategies/{name}', status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /report/{name}', status: 503, why: 'a storage fault' },
];

/** The probes every operation gets from its security schemes (the middleware they name). */
export function genericProbes(): Probe[] {
  const out: Probe[] = [];
  for (const o of OPS) {
    const schemes = new Set((o.op.security ?? []).flatMap((s: object) => Object.keys(s)));
    if (schemes.has('writeToken'))
      out.push(
        { on: 'token', op: o.key, status: 401, why: 'no token where EDGEWATCH_TOKEN is set' },
        {
          op: o.key,
          status: 403,
          why: 'tokenless, from a page of another origin',
          headers: { origin: 'http://attacker.example' },
        },
        { op: o.key, status: 415, why: 'a text/plain body', raw: { type: 'text/plain', text: 'x' } },
        {
          op: o.key,
          status: 413,
          why: 'a body over 1 MiB',
          raw: { type: 'application/json', text: JSON.stringify({ pad: 'x'.repeat(1 << 20) }) },
        },
        { on: 'closed', op: o.key, status: 503, why: 'a storage fault on a write' },
      );
    if (schemes.has('readBearer'))
      out.push({ on: 'token', op: o.key, status: 401, why: 'no read token where one is set' });
    if (schemes.has('metricsBearer'))
      out.push({ on: 'token', op: o.key, status: 401, why: 'no metrics token where one is set' });
  }
  return out;
}
