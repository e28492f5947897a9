// Reading a benchmark's command line: `--flag value` or `--flag=value`, one flag at a time.
// Shared by bench:detection and bench:experiments; each keeps its own switch over the flags.

/** A comma-separated list, blanks dropped. */
export function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface Flag {
  /** the flag as written, without an inline `=value` */
  name: string;
  /** its value: inline, else the next argument (consumed) */
  value: () => string;
  /** its value as a positive finite number */
  num: () => number;
}

/** The flags of argv in order; value() and num() consume the next argument when there is no inline value. */
export function* readFlags(argv: string[]): Generator<Flag> {
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split('=', 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    const num = (): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
      return v;
    };
    yield { name, value, num };
  }
}
