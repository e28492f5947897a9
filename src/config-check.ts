// Shared helpers for "a configuration mistake says what to write instead".
import { ConfigError, ValidationError, type ErrorDetail } from './errors.js';

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** The closest known word, if it is close enough to be a typo. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = distance(word.toLowerCase(), k.toLowerCase());
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** One detail per key of `obj` that is not in `known`, with the likely typo's fix. */
export function unknownKeyDetails(obj: object, known: readonly string[]): ErrorDetail[] {
  return Object.keys(obj)
    .filter((key) => !known.includes(key))
    .map((key) => {
      const guess = suggest(key, known);
      return {
        path: key,
        message: `unknown option${guess ? `: did you mean "${guess}"?` : ''} (known: ${known.join(', ')})`,
      };
    });
}

/** The options of a call (not of a start-up): an unknown key is bad input of that call, a ValidationError. */
export function rejectUnknownOptions(obj: object, known: readonly string[], what: string): void {
  const details = unknownKeyDetails(obj, known);
  if (details.length) throw new ValidationError(what, details);
}

/** Throws a ConfigError for the first key of `obj` that is not in `known` (start-up and open options). */
export function rejectUnknownKeys(obj: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const guess = suggest(key, known);
    throw new ConfigError(
      `${where}: unknown option "${key}"${guess ? `: did you mean "${guess}"?` : ''} (known options: ${known.join(', ')})`,
    );
  }
}
