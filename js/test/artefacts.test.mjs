// The two builds of the core stay apart: the ABI module imports nothing (any wasm host loads
// it), the package's module exports none of the ABI functions (the `abi` feature stayed out).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jsDir, rootDir } from './helpers.mjs';

const moduleOf = (p) => new WebAssembly.Module(readFileSync(p));

test('the package module has no ABI exports', () => {
  for (const flavour of ['node', 'web']) {
    const m = moduleOf(path.join(jsDir, 'dist', flavour, 'ndr_filter_bg.wasm'));
    const names = WebAssembly.Module.exports(m).map((e) => e.name);
    assert.ok(names.includes('classify'), `${flavour}: ${names}`);
    assert.deepEqual(names.filter((n) => n.startsWith('ndr_')), []);
  }
});

test('the ABI module imports nothing and is loaded by plain WebAssembly in Node', () => {
  const m = moduleOf(path.join(rootDir, 'target', 'wasm32-unknown-unknown', 'wasm', 'ndr_filter.wasm'));
  assert.deepEqual(WebAssembly.Module.imports(m), []);
  const { exports: abi } = new WebAssembly.Instance(m, {});
  assert.ok(abi.ndr_abi_v1);
  assert.equal(abi.ndr_info(), 0);
  const info = JSON.parse(
    new TextDecoder().decode(new Uint8Array(abi.memory.buffer, abi.ndr_result_ptr(), abi.ndr_result_len())),
  );
  assert.equal(info.abi_major, 1);
});
