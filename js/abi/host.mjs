// A plain JavaScript host of the zero-import ABI module (docs/ABI.md): no wasm-bindgen, no glue.
// It instantiates ndr_filter.wasm with an empty import object and speaks the ABI by hand: alloc,
// write the input, call, read the result document, free. It is the reference for hosts in other
// runtimes, and runs unchanged in Node, browsers and workerd (Cloudflare Workers).

const ABI_MAJOR = 1;
const MARKER = `ndr_abi_v${ABI_MAJOR}`;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A status code the module returned (docs/ABI.md, "Status codes"): `code` is the number, `codeName` its name. */
export class AbiError extends Error {
  constructor(code, codeName, message, options) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.codeName = codeName;
  }
}
export class BadPointerError extends AbiError {}
export class BadLengthError extends AbiError {}
export class BadUtf8Error extends AbiError {}
export class BadJsonError extends AbiError {}
export class UnknownBufferError extends AbiError {}
export class InternalError extends AbiError {}
export class BadConfigError extends AbiError {}

/** The status table; the list is append-only, so a code this host does not know still becomes an AbiError. */
export const STATUS = Object.freeze({
  1: ['bad_pointer', BadPointerError],
  2: ['bad_length', BadLengthError],
  3: ['bad_utf8', BadUtf8Error],
  4: ['bad_json', BadJsonError],
  5: ['unknown_buffer', UnknownBufferError],
  6: ['internal', InternalError],
  7: ['bad_config', BadConfigError],
});

/** The module trapped (or the engine stopped it): the instance was discarded, the next call gets a new one. */
export class TrapError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'TrapError';
  }
}

/** The module is not one this host can speak to (marker export missing, another major version). */
export class AbiMismatchError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AbiMismatchError';
  }
}

/** The module could not give a buffer (ndr_alloc returned 0): input too large for its memory. */
export class AllocError extends Error {
  constructor(len) {
    super(`ndr_alloc(${len}) failed: the module's memory is exhausted`);
    this.name = 'AllocError';
  }
}

/** The error for a non-zero status, with the message of the module's error document when it has one. */
export function errorFromStatus(status, document) {
  const [codeName, Kind] = STATUS[status] ?? ['unknown', AbiError];
  let message = `status ${status} (${codeName})`;
  try {
    const parsed = JSON.parse(document);
    if (parsed?.error?.message) message = `${codeName}: ${parsed.error.message}`;
  } catch {
    // An error document that is not JSON still has its status: keep the plain message.
  }
  return new Kind(status, codeName, message);
}

function asBytes(raw) {
  if (typeof raw === 'string') return encoder.encode(raw);
  if (raw instanceof Uint8Array) return raw;
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  throw new TypeError('a message is a string, a Uint8Array or an ArrayBuffer');
}

/** The request document as bytes; `now` defaults to the clock, as in the npm package. */
function requestBytes(request) {
  const doc = { ...(request ?? {}) };
  if (doc.now === undefined) doc.now = Math.floor(Date.now() / 1000);
  return encoder.encode(JSON.stringify(doc));
}

export class NdrFilter {
  #module;
  #instance = null;
  /** How many instances were made: 1, plus one per trap. */
  instances = 0;

  /**
   * `module` is a compiled WebAssembly.Module (what a Worker's `import x from "./ndr_filter.wasm"`
   * gives). `maxMemoryBytes`: wasm memory never shrinks, so an instance whose memory a large
   * message grew past this is discarded after the call (the answer is kept) and the next call
   * gets a small new one. It cannot stop growth during a call: that is the engine's limit.
   */
  constructor(module, { maxMemoryBytes = Infinity } = {}) {
    if (!(module instanceof WebAssembly.Module)) throw new TypeError('NdrFilter needs a WebAssembly.Module');
    const exports = WebAssembly.Module.exports(module).map((e) => e.name);
    if (!exports.includes(MARKER)) {
      throw new AbiMismatchError(`not an ndr-filter ABI ${ABI_MAJOR} module: no ${MARKER} export`);
    }
    if (WebAssembly.Module.imports(module).length > 0) {
      throw new AbiMismatchError('the ABI module imports nothing, this one does');
    }
    this.#module = module;
    this.maxMemoryBytes = maxMemoryBytes;
    const version = this.#exports().ndr_abi_version() >>> 0;
    if (version >>> 16 !== ABI_MAJOR) {
      throw new AbiMismatchError(`module speaks ABI ${version >>> 16}.${version & 0xffff}, this host ${ABI_MAJOR}.x`);
    }
    /** "major.minor" of the module's ABI. */
    this.abiVersion = `${version >>> 16}.${version & 0xffff}`;
  }

  /** From the module's bytes or a compiled module. */
  static async load(source, options) {
    const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(asBytes(source));
    return new NdrFilter(module, options);
  }

  /** Bytes of linear memory the current instance holds (0 when there is none). */
  get memoryBytes() {
    return this.#instance === null ? 0 : this.#instance.exports.memory.buffer.byteLength;
  }

  #exports() {
    if (this.#instance === null) {
      // An empty import object: the module needs nothing from its host.
      this.#instance = new WebAssembly.Instance(this.#module, {});
      this.instances += 1;
    }
    return this.#instance.exports;
  }

  /** Call `name` with byte inputs, each in its own buffer; return the parsed result document. */
  #call(name, inputs) {
    const ex = this.#exports();
    const buffers = [];
    let status;
    let document;
    try {
      for (const bytes of inputs) {
        if (bytes.length === 0) {
          buffers.push([0, 0]); // a length of 0 needs no buffer
          continue;
        }
        const ptr = ex.ndr_alloc(bytes.length) >>> 0;
        if (ptr === 0) throw new AllocError(bytes.length);
        buffers.push([ptr, bytes.length]);
        // memory.buffer is read after each alloc: growing the memory detaches the old view.
        new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
      }
      status = ex[name](...buffers.flat());
      const ptr = ex.ndr_result_ptr() >>> 0;
      const len = ex.ndr_result_len() >>> 0;
      document = decoder.decode(new Uint8Array(ex.memory.buffer, ptr, len));
      for (const [ptr, len] of buffers.splice(0)) {
        if (len === 0) continue;
        const freed = ex.ndr_free(ptr, len);
        if (freed !== 0) throw errorFromStatus(freed, '');
      }
    } catch (e) {
      if (e instanceof AbiError || e instanceof AllocError) {
        this.#release(ex, buffers);
        throw e;
      }
      // A trap leaves the instance's state undefined (ABI.md, "Traps"): drop it.
      this.#instance = null;
      throw new TrapError(`${name}: the module trapped (${e?.message ?? e}); instance discarded`, { cause: e });
    }
    if (ex.memory.buffer.byteLength > this.maxMemoryBytes) this.#instance = null;
    if (status !== 0) throw errorFromStatus(status, document);
    return JSON.parse(document);
  }

  #release(ex, buffers) {
    try {
      for (const [ptr, len] of buffers) if (len !== 0) ex.ndr_free(ptr, len);
    } catch {
      this.#instance = null;
    }
  }

  /** The report of a raw message; `request` is the ABI request document ({envelope, config, now}). */
  classify(raw, request) {
    return this.#call('ndr_classify', [asBytes(raw), requestBytes(request)]);
  }

  /** Whether to bounce a message that failed: `{decision, reason}`. */
  shouldBounce(raw, request) {
    return this.#call('ndr_should_bounce', [asBytes(raw), requestBytes(request)]);
  }

  /** The RFC 3464 bounce of a failed message: `{mail_from, rcpt_to, message}`. */
  buildDsn(raw, request) {
    return this.#call('ndr_build_dsn', [asBytes(raw), requestBytes(request)]);
  }

  /** `{config, address, destination, now}` → `{address, signed, key, skipped}`. */
  batvSign(request) {
    return this.#call('ndr_batv_sign', [requestBytes(request)]);
  }

  /** `{config, address, now}` → `{result, key, address, case_folded, days_past, tag_kind, enforcing}`. */
  batvVerify(request) {
    return this.#call('ndr_batv_verify', [requestBytes(request)]);
  }

  /** `{config, address, now}` → `{address}` rewritten for forwarding. */
  srsForward(request) {
    return this.#call('ndr_srs_forward', [requestBytes(request)]);
  }

  /** `{config, address, now}` → `{address, error}`. */
  srsReverse(request) {
    return this.#call('ndr_srs_reverse', [requestBytes(request)]);
  }

  /** `{abi_major, abi_minor, version, reasons}`. */
  info() {
    return this.#call('ndr_info', []);
  }
}
