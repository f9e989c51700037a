// A Cloudflare Email Worker that filters backscatter with the zero-import ABI module
// (README, "Cloudflare Email Worker"). `import` of a .wasm file gives a compiled
// WebAssembly.Module (the CompiledWasm rule in wrangler.toml); handler.mjs does the rest.
import ndrModule from './ndr_filter.wasm';
import { emailHandler } from './handler.mjs';

export default { email: emailHandler(ndrModule) };
