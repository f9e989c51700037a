// Shared by the Node tests: where things are, and the site configuration they use.
import { readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
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
