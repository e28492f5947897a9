// A simulation process of bench/experiments: runs its share of the runs, in trade time
// (replay.ts) or through the real sidecar into an OpenMetrics file (e2e.ts), and writes the
// results as JSON. Usage: node worker.js <job.json>
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';
import { simulateE2e, type E2eResult } from './e2e.js';
import type { RuleTiming } from './observe.js';
import { replay, type ReplayResult } from './replay.js';
import type { ExpRunSpec } from './stream.js';

export interface ExpJob {
  mode: 'replay' | 'e2e';
  specs: ExpRunSpec[];
  rule: RuleTiming;
  bot: string;
  tmpDir: string;
  /** e2e: the OpenMetrics file to write */
  omPath: string;
  resultPath: string;
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as ExpJob;
  const results: Array<ReplayResult | E2eResult> = [];
  if (job.mode === 'replay') {
    const th = { ...DEFAULT_THRESHOLDS };
    for (const spec of job.specs) results.push(replay(spec, th, job.rule));
  } else {
    const out = createWriteStream(job.omPath);
    let pending = 0;
    const sink = {
      write(text: string) {
        if (!out.write(text)) pending++;
      },
    };
    for (const spec of job.specs) {
      results.push(await simulateE2e(spec, job.tmpDir, job.bot, sink, job.rule));
      if (pending) {
        await new Promise<void>((r) => out.once('drain', () => r()));
        pending = 0;
      }
    }
    await new Promise<void>((resolve, reject) => out.end('# EOF\n', () => resolve()).once('error', reject));
  }
  writeFileSync(job.resultPath, JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
