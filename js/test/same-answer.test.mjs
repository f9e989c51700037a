// The same answer from Node as from the wasmtime host: every message of tests/corpus goes
// through `ndr scan --json` (the wasmtime host, ABI module) and through this package (the
// wasm-bindgen build), with the same configuration and time, and the two reports must be equal.
import test from 'node:test';
import { classify } from '../index.mjs';
import { assertSameAnswers } from './helpers.mjs';

test('every corpus message: Node gives the wasmtime host\'s report', () => {
  const compared = assertSameAnswers(classify);
  console.log(`same answer: ${compared} messages, 0 differences`);
});
