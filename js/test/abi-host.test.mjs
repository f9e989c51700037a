// The plain JavaScript host of the ABI module (abi/host.mjs): it loads ndr_filter.wasm with an
// empty import object, maps every status code to its error, survives a trap, and answers the
// same as the wasmtime host (`ndr scan --json`) on every corpus message.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  NdrFilter, AbiError, AbiMismatchError, TrapError, errorFromStatus, STATUS,
  BadPointerError, BadLengthError, BadUtf8Error, BadJsonError, UnknownBufferError, InternalError, BadConfigError,
} from '../abi/host.mjs';
import { abiModuleBytes, trappingModuleBytes } from './abi-fixtures.mjs';
import { assertSameAnswers, siteConfig, NOW } from './helpers.mjs';

const module = new WebAssembly.Module(abiModuleBytes());
const filter = new NdrFilter(module);

test('the module imports nothing and speaks ABI 1.x', () => {
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const about = filter.info();
  assert.equal(about.abi_major, 1);
  assert.equal(filter.abiVersion, `${about.abi_major}.${about.abi_minor}`);
  assert.ok(about.reasons.includes('userunknown'));
});

test('every status code has its Error subclass, numeric code and name', () => {
  // Status documents straight from the module's exports, reached the way a careless host would.
  const { exports: ex } = new WebAssembly.Instance(module, {});
  const doc = () => new TextDecoder().decode(new Uint8Array(ex.memory.buffer, ex.ndr_result_ptr(), ex.ndr_result_len()));
  const put = (bytes) => {
    const ptr = ex.ndr_alloc(bytes.length);
    new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  };
  const msg = put(Buffer.from('Subject: x\r\n\r\nbody'));
  const cases = [
    [ex.ndr_classify(msg + 100000, 4, 0, 0), BadPointerError, 'bad_pointer'],
    [ex.ndr_classify(msg, 100000, 0, 0), BadLengthError, 'bad_length'],
    [ex.ndr_classify(msg, 4, put(Buffer.from([0x7b, 0xff, 0x7d])), 3), BadUtf8Error, 'bad_utf8'],
    [ex.ndr_classify(msg, 4, put(Buffer.from('{"nope":1}')), 10), BadJsonError, 'bad_json'],
  ];
  for (const [status, Kind, codeName] of cases) {
    const e = errorFromStatus(status, doc());
    assert.ok(e instanceof Kind && e instanceof AbiError && e instanceof Error, codeName);
    assert.equal(e.code, status);
    assert.equal(e.codeName, codeName);
    assert.equal(e.name, Kind.name);
    assert.match(e.message, new RegExp(`^${codeName}: `), 'the error document\'s message is kept');
  }
  const freed = ex.ndr_free(msg, 3); // not the length it was allocated with
  assert.equal(freed, 5);
  assert.ok(errorFromStatus(freed, '') instanceof UnknownBufferError);
  // No input is known to cause `internal`; bad_config is reached through the API below.
  for (const [code, Kind] of [[6, InternalError], [7, BadConfigError]]) {
    const e = errorFromStatus(code, JSON.stringify({ error: { code, name: STATUS[code][0], message: 'm' } }));
    assert.ok(e instanceof Kind);
    assert.equal(e.code, code);
  }
  // A code this host does not know yet (the list is append-only) is still an AbiError.
  const later = errorFromStatus(42, '{"error":{"code":42,"name":"later","message":"m"}}');
  assert.equal(later.constructor, AbiError);
  assert.equal(later.code, 42);
  assert.equal(later.codeName, 'unknown');
});

test('the API throws the status errors: bad_json, and bad_config without the secret', () => {
  assert.throws(() => filter.classify('Subject: x\n\nx', { unknown_field: 1 }), (e) => e instanceof BadJsonError && e.code === 4);
  const secret = 'k'.repeat(70);
  const config = { batv: { keys: [{ digit: 4, secret }] } };
  assert.throws(() => filter.batvSign({ config, address: 'alice@example.com', now: NOW }), (e) => {
    assert.ok(e instanceof BadConfigError);
    assert.equal(e.code, 7);
    assert.equal(e.codeName, 'bad_config');
    assert.match(e.message, /key 4/);
    assert.ok(!e.message.includes(secret));
    return true;
  });
});

test('a module that is not ABI 1 is refused before any call', () => {
  assert.throws(() => new NdrFilter(new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))), AbiMismatchError);
  assert.throws(() => new NdrFilter(new WebAssembly.Module(trappingModuleBytes({ version: 0x00020000 }))), /ABI 2\.0/);
  assert.doesNotThrow(() => new NdrFilter(new WebAssembly.Module(trappingModuleBytes({ version: 0x00010007 }))));
});

test('after a trap the instance is discarded and the next call gets a new one', async () => {
  const trapping = await NdrFilter.load(trappingModuleBytes());
  assert.equal(trapping.instances, 1);
  assert.throws(() => trapping.classify('Subject: x\n\nx', { now: NOW }), (e) => e instanceof TrapError && e.cause instanceof WebAssembly.RuntimeError);
  assert.deepEqual(trapping.info(), {}, 'the next call works');
  assert.equal(trapping.instances, 2);
  assert.throws(() => trapping.classify('Subject: x\n\nx', { now: NOW }), TrapError);
  assert.equal(trapping.instances, 2, 'a new instance is made only when needed');
  trapping.info();
  assert.equal(trapping.instances, 3);
});

test('an instance whose memory grew past maxMemoryBytes is replaced after the call, its answer kept', () => {
  const bounded = new NdrFilter(module, { maxMemoryBytes: 8 << 20 });
  const small = 'From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n';
  assert.equal(bounded.classify(small, { now: NOW }).kind, 'normal');
  assert.ok(bounded.memoryBytes > 0 && bounded.memoryBytes < 8 << 20);
  const large = small + 'x'.repeat(76).concat('\r\n').repeat(100000); // 7.8 MB: the module needs about twice that
  assert.equal(bounded.classify(large, { now: NOW }).kind, 'normal');
  assert.equal(bounded.memoryBytes, 0, 'the grown instance is gone');
  assert.equal(bounded.classify(small, { now: NOW }).kind, 'normal');
  assert.ok(bounded.memoryBytes < 8 << 20);
  assert.equal(bounded.instances, 2);
});

test('BATV, SRS, shouldBounce and buildDsn through the ABI', () => {
  const config = siteConfig;
  const signed = filter.batvSign({ config, address: 'alice@example.com', destination: 'bob@example.org', now: NOW });
  assert.equal(signed.signed, true);
  assert.match(signed.address, /^prvs=2\d{3}[0-9a-f]{6}=alice@example\.com$/);
  const verified = filter.batvVerify({ config, address: signed.address, now: NOW });
  assert.equal(verified.result, 'valid');
  assert.equal(verified.address, 'alice@example.com');
  const forged = signed.address.replace(/^(prvs=\d{4})[0-9a-f]{6}/, (_, head) => `${head}${signed.address.slice(9, 15) === '000000' ? '111111' : '000000'}`);
  assert.equal(filter.batvVerify({ config, address: forged, now: NOW }).result, 'bad_signature');
  const forwarded = filter.srsForward({ config, address: 'carol@origin.example', now: NOW });
  assert.match(forwarded.address, /^SRS0=.*=origin\.example=carol@fwd\.example\.net$/);
  assert.deepEqual(filter.srsReverse({ config, address: forwarded.address, now: NOW }), { address: 'carol@origin.example', error: null });
  const original = 'From: carol@origin.example\r\nTo: alice@example.com\r\nSubject: hello\r\nMessage-ID: <1@origin.example>\r\n\r\nhi\r\n';
  assert.deepEqual(filter.shouldBounce(original, { envelope: { mail_from: '', rcpt_to: ['alice@example.com'] }, now: NOW }), { decision: 'drop', reason: 'null_sender' });
  const dsn = filter.buildDsn(original, {
    envelope: { mail_from: 'carol@origin.example', rcpt_to: ['alice@example.com'] },
    failure: { recipients: [{ address: 'alice@example.com', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 no such user' }], reporting_mta: 'mx.example.com' },
    now: NOW,
  });
  assert.deepEqual(dsn.rcpt_to, ['carol@origin.example']);
  const report = filter.classify(dsn.message, { now: NOW });
  assert.equal(report.kind, 'bounce');
  assert.equal(report.recipients[0].address, 'alice@example.com');
  assert.equal(report.recipients[0].reason, 'userunknown');
});

test('every corpus message: the plain JavaScript host gives the wasmtime host\'s report', () => {
  const compared = assertSameAnswers((raw, request) => filter.classify(raw, request));
  assert.equal(filter.instances, 1, 'no call trapped');
  console.log(`plain JS host, same answer: ${compared} messages, 0 differences`);
});
