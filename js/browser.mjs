// Browser entry point (ES module, no bundler needed): loads the module next to the glue with
// top-level await, then offers the same functions as the Node entry points.
import init, * as core from './dist/web/ndr_filter.js';

await init();
const about = core.info();

export const { classify, shouldBounce, buildDsn, batvSign, batvVerify, srsForward, srsReverse, info } = core;
/** The ABI version the answers follow, "major.minor" (docs/ABI.md). */
export const version = `${about.abi_major}.${about.abi_minor}`;
/** The version of the filter crate the module was built from. */
export const packageVersion = about.version;
