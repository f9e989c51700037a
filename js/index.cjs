'use strict';
// Node entry point (CommonJS). The functions come straight from the wasm-bindgen build of the
// core (`filter/src/js.rs`); this file only adds the version properties.
const core = require('./dist/node/ndr_filter.js');

const about = core.info();

module.exports = {
  classify: core.classify,
  shouldBounce: core.shouldBounce,
  buildDsn: core.buildDsn,
  batvSign: core.batvSign,
  batvVerify: core.batvVerify,
  srsForward: core.srsForward,
  srsReverse: core.srsReverse,
  info: core.info,
  /** The ABI version the answers follow, "major.minor" (docs/ABI.md). */
  version: `${about.abi_major}.${about.abi_minor}`,
  /** The version of the filter crate the module was built from. */
  packageVersion: about.version,
};
