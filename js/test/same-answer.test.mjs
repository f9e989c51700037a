// The same answer from Node as from the wasmtime host: every message of tests/corpus goes
// through `ndr scan --json` (the wasmtime host, ABI module) and through this package (the
// wasm-bindgen build), with the same configuration and time, and the two reports must be equal.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classify } from '../index.mjs';
import { corpusDir, ndrBinary, siteConfig, siteConfigPath, NOW } from './helpers.mjs';

function run(args) {
  const out = spawnSync(ndrBinary(), args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.ok(out.status === 0 || out.status === 1, `ndr ${args[0]} failed: ${out.stderr}`);
  return out.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

test('every corpus message: Node gives the wasmtime host\'s report', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ndr-same-answer-'));
  try {
    // Mailboxes are split by the host, so both sides read exactly the same bytes.
    const written = run(['split', corpusDir, '--out', dir]);
    assert.ok(written.length > 2000, `only ${written.length} messages in ${corpusDir}`);
    const hostReports = run(['scan', '--json', '--now', String(NOW), '--config', siteConfigPath, dir]);
    assert.equal(hostReports.length, written.length);
    const differences = [];
    for (const { file, index, ...hostReport } of hostReports) {
      assert.equal(index, null);
      const nodeReport = classify(readFileSync(file), { config: siteConfig, now: NOW });
      try {
        assert.deepStrictEqual(nodeReport, hostReport);
      } catch (e) {
        const source = written.find((w) => w.written === file);
        differences.push(`${source.file}#${source.index ?? 0}: ${e.message.slice(0, 400)}`);
      }
    }
    assert.equal(differences.length, 0, `${differences.length} differ:\n${differences.slice(0, 5).join('\n')}`);
    // Guard against a vacuous pass: the configuration must have produced verdicts.
    assert.ok(hostReports.some((r) => r.verdict === 'backscatter'));
    assert.ok(hostReports.some((r) => r.kind === 'bounce' && r.recipients.length > 0));
    console.log(`same answer: ${hostReports.length} messages, 0 differences`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
