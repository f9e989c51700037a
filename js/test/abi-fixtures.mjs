// Shared by the tests of the plain JavaScript ABI host and the Email Worker: the ABI module
// (built by scripts/build-module.sh) and a stand-in module that traps.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { rootDir } from './helpers.mjs';

export const abiModulePath = path.join(rootDir, 'target', 'wasm32-unknown-unknown', 'wasm', 'ndr_filter.wasm');

export function abiModuleBytes() {
  if (!existsSync(abiModulePath)) {
    throw new Error(`${abiModulePath} is missing: run "bash scripts/build-module.sh" first (scripts/test.sh does)`);
  }
  return readFileSync(abiModulePath);
}

// Minimal wasm binary encoding, enough for the stand-in below.
const uleb = (n) => {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n) => {
  const out = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];
const name = (s) => vec([...Buffer.from(s)].map((b) => [b]));
const I32 = 0x7f;
const constI32 = (v) => [0x41, ...sleb(v)];

/**
 * A module with the ABI's exports whose `ndr_classify` traps (`unreachable`), as a module with a
 * bug, an exhausted budget or a corrupted binding would. `ndr_alloc` always answers address 8 in
 * its 4 MiB of memory (inputs overlap, which nothing reads); `ndr_info` answers `{}`.
 */
export function trappingModuleBytes({ version = 0x00010003 } = {}) {
  const types = [[0x60, 0, 0], [0x60, 0, 1, I32], [0x60, 1, I32, 1, I32], [0x60, 2, I32, I32, 1, I32], [0x60, 4, I32, I32, I32, I32, 1, I32]];
  // name, type index, body (no locals)
  const funcs = [
    ['ndr_abi_v1', 0, []],
    ['ndr_abi_version', 1, constI32(version)],
    ['ndr_alloc', 2, constI32(8)],
    ['ndr_free', 3, constI32(0)],
    ['ndr_classify', 4, [0x00]],
    ['ndr_result_ptr', 1, constI32(0)],
    ['ndr_result_len', 1, constI32(2)],
    ['ndr_info', 1, constI32(0)],
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(funcs.map(([, type]) => [type]))),
    ...section(5, vec([[0x00, 64]])),
    ...section(7, vec([...funcs.map(([n], i) => [...name(n), 0x00, i]), [...name('memory'), 0x02, 0]])),
    ...section(10, vec(funcs.map(([, , body]) => {
      const code = [0x00, ...body, 0x0b];
      return [...uleb(code.length), ...code];
    }))),
    ...section(11, vec([[0x00, ...constI32(0), 0x0b, ...vec([[0x7b], [0x7d]])]])),
  ];
  return new Uint8Array(bytes);
}
