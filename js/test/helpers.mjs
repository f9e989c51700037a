// Shared by the Node tests: where things are, and the site configuration they use.
import { readFileSync, existsSync, readdirSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const jsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const rootDir = path.resolve(jsDir, '..');
/** The real-mail corpus in the repository; `NDR_CORPUS` points at another copy, as for the Rust tests. */
export const corpusDir = process.env.NDR_CORPUS ? path.resolve(process.env.NDR_CORPUS) : path.join(rootDir, 'tests', 'corpus');
export const siteConfigPath = path.join(jsDir, 'test', 'fixtures', 'site.json');
export const siteConfig = JSON.parse(readFileSync(siteConfigPath, 'utf8'));
/** 2026-11-24 12:00 UTC: inside the key ring's windows. */
export const NOW = 1795521600;

/** The `ndr` binary of the wasmtime host, built by `cargo test --release` (scripts/test.sh). */
export function ndrBinary() {
  const bin = path.join(rootDir, 'target', 'release', 'ndr');
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: run "cargo build --release -p ndr-host" first (scripts/test.sh does)`);
  }
  return bin;
}

/** Runs `ndr ARGS` and reads its JSON lines (exit 1 is a scan that skipped something, not a failure). */
export function ndrJson(args) {
  const out = spawnSync(ndrBinary(), args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.ok(out.status === 0 || out.status === 1, `ndr ${args[0]} failed: ${out.stderr}`);
  return out.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

/**
 * Every corpus message through the wasmtime host (`ndr scan --json`, the ABI module) and through
 * `classify(bytes, {config, now})` of another host, with the test site configuration at NOW; the
 * reports must be equal. Mailboxes are split by the host first, so both read exactly the same
 * bytes. Returns how many messages were compared.
 */
export function assertSameAnswers(classify) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ndr-same-answer-'));
  try {
    const written = ndrJson(['split', corpusDir, '--out', dir]);
    assert.ok(written.length > 2000, `only ${written.length} messages in ${corpusDir}`);
    const hostReports = ndrJson(['scan', '--json', '--now', String(NOW), '--config', siteConfigPath, dir]);
    assert.equal(hostReports.length, written.length);
    const differences = [];
    for (const { file, index, ...hostReport } of hostReports) {
      assert.equal(index, null);
      const report = classify(readFileSync(file), { config: siteConfig, now: NOW });
      try {
        assert.deepStrictEqual(report, hostReport);
      } catch (e) {
        const source = written.find((w) => w.written === file);
        differences.push(`${source.file}#${source.index ?? 0}: ${e.message.slice(0, 400)}`);
      }
    }
    assert.equal(differences.length, 0, `${differences.length} differ:\n${differences.slice(0, 5).join('\n')}`);
    // Guard against a vacuous pass: the configuration must have produced verdicts.
    assert.ok(hostReports.some((r) => r.verdict === 'backscatter'));
    assert.ok(hostReports.some((r) => r.kind === 'bounce' && r.recipients.length > 0));
    return hostReports.length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function sample(name) {
  return readFileSync(path.join(rootDir, 'samples', 'mail', name));
}

/** Every file under a folder, sorted, recursively (the order `ndr scan` reads them in). */
export function* filesUnder(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* filesUnder(p);
    else if (!name.startsWith('.')) yield p;
  }
}
