// The window engine's saved state: a cache of its buckets written next to the ledger, so that
// a restart reads only the trades recorded since the last save instead of the whole ledger.
//
// Layout: a little-endian uint32 header length, the header as JSON (series heads, the last id
// of every bucket, the CUSUM runs...), padding to 8 bytes, then per bucket the float64s
// start, last closed_ms and the Agg fields in AGG_FIELDS order. Numbers as float64 because
// JSON of millions of aggregates took seconds to parse. Written atomically (temp file +
// rename). Whether a state belongs to the ledger at hand is the engine's check (`check`).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { empty, type Agg, type SavedBucket } from '../analytics/index.js';
import type { RowCheck } from '../ledger/index.js';
import type { SavedRun } from './cusum-runs.js';

// 3: trades attributed by time (schema 2), runs keyed by version, run windows saved.
export const STATE_FORMAT = 3;
/** The fields of Agg, in the order the file stores them. */
const AGG_FIELDS = Object.keys(empty()) as Array<keyof Agg>;

/** Which series a list of buckets belongs to: the strategy's windows, its run's, a version's or a variant's. */
export interface SeriesHead {
  strategy: string;
  version?: number;
  experiment?: string;
  variant?: string;
  /** The run windows of this key (startMs null: no deploy). */
  run?: [startMs: number | null, deploys: number, minTrades: number, version: number | null];
}

export interface SavedSeries {
  head: SeriesHead;
  /** Minute buckets. */
  buckets: readonly SavedBucket[];
  /** Hour buckets (whole-life series only). */
  hours?: readonly SavedBucket[];
}

export interface EngineState {
  lastSeq: number;
  /** strategy, id, closed_ms of the row at lastSeq: proof that the state belongs to its ledger. */
  check: RowCheck | null;
  tradesSeen: number;
  cutoff: number;
  /** Each strategy's last trade time. */
  strategies: Array<[string, number]>;
  series: SavedSeries[];
  /** The CUSUM runs (absent in files of earlier releases: rebuilt at the first scrape). */
  cusum?: SavedRun[];
  /** The attribution epochs the buckets were built at. */
  epochs: Array<[string, number]>;
  /** Straddling trades per strategy and version. */
  straddles: Array<[string, number, number]>;
}

/** The file's JSON header: the state without its buckets, plus the shape of what follows. */
interface Header extends Omit<EngineState, 'series'> {
  format: number;
  fields: string[];
  series: Array<SeriesHead & { count: number; hours: number }>;
  /** The id of the last trade of each bucket, in bucket order. */
  ids: string[];
}

/** A state file that cannot be used, and why (for the start-up log). */
export class StateRejected extends Error {}

export function writeStateFile(path: string, state: EngineState): void {
  const numbers: number[] = [];
  const ids: string[] = [];
  const series = state.series.map(({ head, buckets, hours = [] }) => {
    for (const b of [...hours, ...buckets]) {
      numbers.push(b.start, b.last.closedMs);
      for (const f of AGG_FIELDS) numbers.push(b.agg[f]);
      ids.push(b.last.id);
    }
    return { ...head, count: buckets.length, hours: hours.length };
  });
  const header: Header = { ...state, format: STATE_FORMAT, fields: AGG_FIELDS, series, ids };
  const json = Buffer.from(JSON.stringify(header));
  const pad = (8 - ((4 + json.length) % 8)) % 8;
  const out = Buffer.alloc(4 + json.length + pad + numbers.length * 8);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  new Float64Array(out.buffer, out.byteOffset + 4 + json.length + pad, numbers.length).set(numbers);
  writeFileSync(`${path}.tmp`, out);
  renameSync(`${path}.tmp`, path);
}

/** Reads a state file; throws StateRejected when it is of another release or unreadable. */
export function readStateFile(path: string): EngineState {
  let header: Header;
  let numbers: Float64Array;
  try {
    const file = readFileSync(path);
    const length = file.readUInt32LE(0);
    header = JSON.parse(file.subarray(4, 4 + length).toString('utf8')) as Header;
    const pad = (8 - ((4 + length) % 8)) % 8;
    numbers = new Float64Array(file.buffer.slice(file.byteOffset + 4 + length + pad, file.byteOffset + file.length));
  } catch (err) {
    throw new StateRejected(`it is unreadable (${(err as Error).message})`);
  }
  if (header.format !== STATE_FORMAT || header.fields?.join() !== AGG_FIELDS.join())
    throw new StateRejected('it was written by another version');
  const width = 2 + AGG_FIELDS.length;
  let at = 0;
  let n = 0;
  const take = (count: number): SavedBucket[] => {
    const out: SavedBucket[] = [];
    for (let k = 0; k < count; k++, at += width, n++) {
      if (at + width > numbers.length) throw new StateRejected('it is unreadable (truncated)');
      const agg = empty();
      AGG_FIELDS.forEach((f, i) => (agg[f] = numbers[at + 2 + i]));
      out.push({ start: numbers[at], agg, last: { closedMs: numbers[at + 1], id: header.ids[n] } });
    }
    return out;
  };
  const series = header.series.map(({ count, hours, ...head }) => {
    const past = take(hours);
    return { head, buckets: take(count), hours: past };
  });
  const { format: _format, fields: _fields, ids: _ids, ...rest } = header;
  return { ...rest, series };
}
