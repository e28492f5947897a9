// `for:` and `keep_firing_for:` as Prometheus 2.42 applies them to one alert label set,
// given whether the alert expression returned that label set at each evaluation. This is
// the only part of rule evaluation done here rather than by Prometheus itself (a range
// query gives the expression's result at every step, not the alert state); the smoke test
// checks it against `promtool test rules` on the same series.
//
// Prometheus (rules/alerting.go, 2.42), at each evaluation ts:
// - returned and not active: a new pending alert, activeAt = ts;
//   returned and active: it stays, and a firing alert's keepFiringSince is cleared;
// - not returned: a pending alert is dropped; a firing one keeps firing while
//   ts - keepFiringSince < keep_firing_for (keepFiringSince = the first such ts), else it
//   resolves (and a later return starts a new pending alert);
// - then a pending alert with ts - activeAt >= for fires (with for: 0, at once).

export interface Firing {
  /** step index at which the alert went pending */
  active: number;
  /** step index at which it fired */
  fired: number;
  /** step index at which it resolved; undefined when still firing at the last step */
  resolved?: number;
}

/**
 * The firings of one label set over steps 0..steps-1, from the sorted step indices at
 * which the expression returned it.
 */
export function firings(present: number[], steps: number, stepMs: number, forMs: number, keepMs: number): Firing[] {
  const out: Firing[] = [];
  const keepSteps = keepMs > 0 ? Math.ceil(keepMs / stepMs) : 0;
  let k = 0;
  while (k < present.length) {
    // Inactive until present[k]: a new pending alert.
    const active = present[k];
    // It stays pending while returned on consecutive steps; it fires at the first step with
    // (i - active) * step >= for, if the run of returns lasts that long.
    let end = k; // last index of the consecutive run
    while (end + 1 < present.length && present[end + 1] === present[end] + 1) end++;
    const fireAt = active + Math.ceil(forMs / stepMs);
    if (fireAt > present[end] || fireAt >= steps) {
      k = end + 1; // dropped while pending (or never fired before the end)
      continue;
    }
    // Firing from fireAt. After the last return `last`, the first absent step a = last + 1
    // starts keep_firing_for: the alert still fires at absent step i while (i - a) * step <
    // keep, i.e. up to a + keepSteps - 1, and resolves at a + keepSteps. A return at p while
    // it still fires on p - 1 (p - a <= keepSteps) continues the same firing.
    let last = present[end];
    k = end + 1;
    while (k < present.length && present[k] - (last + 1) <= keepSteps) {
      let e = k;
      while (e + 1 < present.length && present[e + 1] === present[e] + 1) e++;
      last = present[e];
      k = e + 1;
    }
    const resolved = last + 1 + keepSteps;
    out.push({ active, fired: fireAt, resolved: resolved < steps ? resolved : undefined });
  }
  return out;
}
