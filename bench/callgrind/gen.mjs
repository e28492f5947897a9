const { generateLedger } = await import(new URL('../../dist/bench/generate.js', import.meta.url).href);
const meta = generateLedger(process.argv[2], {
  trades: Number(process.argv[3]),
  days: 8,
  endMs: Number(process.argv[4]),
});
console.log(JSON.stringify(meta).slice(0, 300));
