// The floor: a static prom-client registry holding the same series as a sidecar scrape (the
// values of one real scrape, set once) plus prom-client's default process metrics, which the
// sidecar also collects. Serializing it is the least any prom-client exporter of these series pays.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Builds the registry from a scrape of the sidecar (text exposition format). */
export function staticRegistry(exposition: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const defaults = new Set(registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name));
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples = new Map<string, Array<{ labels: Record<string, string>; value: number }>>();
  for (const line of exposition.split('\n')) {
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) {
      (m[1] === 'HELP' ? help : type).set(m[2], m[3]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (!samples.has(m[1])) samples.set(m[1], []);
    samples.get(m[1])!.push({ labels, value });
  }
  for (const [name, list] of samples) {
    if (defaults.has(name) || [...defaults].some((d) => name.startsWith(`${d}_`))) continue;
    const labelNames = [...new Set(list.flatMap((s) => Object.keys(s.labels)))];
    const opts = { name, help: help.get(name) ?? name, labelNames, registers: [registry] };
    if (type.get(name) === 'counter') {
      const c = new Counter(opts);
      for (const s of list) c.inc(s.labels, s.value);
    } else {
      const g = new Gauge(opts);
      for (const s of list) g.set(s.labels, s.value);
    }
  }
  return registry;
}
