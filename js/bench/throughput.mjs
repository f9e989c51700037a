// Messages per second through the Node package on a folder of mail (default: the corpus's
// bounces), beside the wasmtime host's figure on the same files (`ndr bench --json`).
//   node bench/throughput.mjs [folder] [passes]
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { classify } from '../index.mjs';
import { corpusDir, filesUnder, ndrBinary, NOW } from '../test/helpers.mjs';

const folder = process.argv[2] ?? path.join(corpusDir, 'bounces', 'eml');
const passes = Number(process.argv[3] ?? 3);
const messages = [...filesUnder(folder)].map((f) => readFileSync(f));
const bytes = messages.reduce((n, m) => n + m.length, 0);

const times = [];
for (let pass = 0; pass < passes + 1; pass++) {
  for (const m of messages) {
    const t0 = process.hrtime.bigint();
    classify(m, { now: NOW });
    if (pass > 0) times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
}
times.sort((a, b) => a - b);
const total = times.reduce((a, b) => a + b, 0);
const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
const node = {
  messages: messages.length,
  msgs_per_s: Math.round((times.length / total) * 1e6),
  mb_per_s: +((bytes * passes) / total).toFixed(1),
  mean_us: +(total / times.length).toFixed(1),
  p50_us: +pct(50).toFixed(1),
  p99_us: +pct(99).toFixed(1),
};
console.log(`node ${process.version}: ${JSON.stringify(node)}`);

const host = spawnSync(ndrBinary(), ['bench', '--json', '--now', String(NOW), folder], { encoding: 'utf8' });
if (host.status === 0) console.log(`wasmtime (ndr bench): ${host.stdout.trim()}`);
else console.log(`wasmtime: ndr bench failed: ${host.stderr}`);
