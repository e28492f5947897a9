// Number formats of the report, shared by its parts.

// ASCII '-' for negative numbers everywhere (JSON recommendations and Markdown alike), so the
// report can be grepped and parsed; a Unicode minus in some cells and not others was both.
export function fmt(x: number | undefined | null, digits: number): string {
  if (x === undefined || x === null) return '–';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return x.toFixed(digits);
}

export function fmtP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

/** A difference with its sign, 4 significant digits ("+0.1200", "-3.500"): ASCII minus, as everywhere. */
export function signed(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const s = Math.abs(x) >= 1e-4 || x === 0 ? x.toPrecision(4) : x.toExponential(2);
  return x > 0 ? `+${s}` : s;
}

export function fmtPct(x: number): string {
  return `${Number((x * 100).toFixed(2))}%`;
}

export function cell(x: number | undefined | null): string {
  if (x === undefined || x === null) return '–';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return Number.isInteger(x) ? String(x) : x.toFixed(4);
}
