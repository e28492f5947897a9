// A simulation process: simulates its share of the runs of one group into one OpenMetrics
// file and writes the runs' facts (trade times after the change) next to it.
// Usage: node worker.js <job.json>
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import type { RunSpec } from './plan.js';
import { simulateRun, type RunResult } from './simulate.js';

export interface Job {
  runs: RunSpec[];
  bot: string;
  tmpDir: string;
  omPath: string;
  resultPath: string;
  everyStep: boolean;
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Job;
  const out = createWriteStream(job.omPath);
  let pending = 0;
  const sink = {
    write(text: string) {
      if (!out.write(text)) pending++;
    },
  };
  const results: RunResult[] = [];
  for (const spec of job.runs) {
    results.push(await simulateRun(spec, job.tmpDir, job.bot, sink, job.everyStep));
    if (pending) {
      await new Promise<void>((r) => out.once('drain', () => r()));
      pending = 0;
    }
  }
  await new Promise<void>((resolve, reject) => out.end('# EOF\n', () => resolve()).once('error', reject));
  writeFileSync(job.resultPath, JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
