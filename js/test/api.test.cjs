// The API from CommonJS: every function, its options, and its errors.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const ndr = require('..');

const root = path.resolve(__dirname, '..', '..');
const site = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'site.json'), 'utf8'));
const NOW = 1795521600;
const dsn = fs.readFileSync(path.join(root, 'samples', 'mail', '01-dsn-user-unknown.eml'));

test('version reports the ABI version', () => {
  const info = ndr.info();
  assert.equal(ndr.version, `${info.abi_major}.${info.abi_minor}`);
  assert.match(ndr.version, /^1\.\d+$/);
  assert.equal(ndr.packageVersion, require('../package.json').version);
  assert.ok(info.reasons.includes('userunknown'));
});

test('classify reads a DSN from a Buffer, a string, a Uint8Array and an ArrayBuffer alike', () => {
  const fromBuffer = ndr.classify(dsn, { now: NOW });
  assert.equal(fromBuffer.kind, 'bounce');
  assert.equal(fromBuffer.recipients[0].address, 'nobody@example.org');
  assert.equal(fromBuffer.recipients[0].status, '5.1.1');
  assert.equal(fromBuffer.recipients[0].reason, 'userunknown');
  assert.equal(fromBuffer.recipients[0].hard, true);
  assert.deepEqual(ndr.classify(dsn.toString('utf8'), { now: NOW }), fromBuffer);
  assert.deepEqual(ndr.classify(new Uint8Array(dsn), { now: NOW }), fromBuffer);
  const copy = dsn.buffer.slice(dsn.byteOffset, dsn.byteOffset + dsn.byteLength);
  assert.deepEqual(ndr.classify(copy, { now: NOW }), fromBuffer);
});

test('absent values are null, not undefined', () => {
  const r = ndr.classify('Subject: hi\r\n\r\nhello\r\n', { now: NOW });
  assert.equal(r.kind, 'normal');
  assert.strictEqual(r.original, null);
  assert.strictEqual(r.error, null);
  assert.ok(!JSON.stringify(r, (k, v) => (v === undefined ? '__undefined__' : v)).includes('__undefined__'));
});

test('the envelope and the site configuration give a verdict and an action', () => {
  const signed = ndr.batvSign({ config: site, address: 'alice@example.com', now: NOW });
  assert.equal(signed.signed, true);
  const ours = ndr.classify(dsn, { config: site, now: NOW, envelope: { mail_from: '', rcpt_to: [signed.address] } });
  assert.equal(ours.verdict, 'legitimate');
  assert.equal(ours.action, 'accept');
  assert.equal(ours.rcpt_checks[0].batv.result, 'valid');
  const spam = fs.readFileSync(path.join(root, 'samples', 'mail', '10-backscatter.eml'));
  const forged = ndr.classify(spam, {
    config: site,
    now: NOW,
    envelope: { mail_from: '', rcpt_to: ['prvs=2000000000=alice@example.com'] },
  });
  assert.equal(forged.verdict, 'backscatter');
  assert.equal(forged.action, 'reject');
  assert.equal(forged.smtp_reply.code, 550);
  assert.ok(forged.signals.some((s) => s.weight < 0));
});

test('BATV sign and verify with a key ring, at a given time', () => {
  const signed = ndr.batvSign({ config: site, address: 'bob@example.com', now: NOW });
  assert.match(signed.address, /^prvs=2\d{3}[0-9a-f]{6}=bob@example\.com$/);
  assert.equal(signed.key, 2);
  assert.equal(ndr.batvVerify({ config: site, address: signed.address, now: NOW }).result, 'valid');
  const later = ndr.batvVerify({ config: site, address: signed.address, now: NOW + 30 * 86400 });
  assert.equal(later.result, 'expired');
  assert.equal(later.address, 'bob@example.com');
  const tampered = signed.address.replace(/[0-9a-f]=bob/, (m) => (m[0] === '0' ? '1' : '0') + '=bob');
  assert.equal(ndr.batvVerify({ config: site, address: tampered, now: NOW }).result, 'bad_signature');
});

test('SRS forward and reverse', () => {
  const fwd = ndr.srsForward({ config: site, address: 'carol@example.org', now: NOW });
  assert.match(fwd.address, /^SRS0=[^=]+=[^=]+=example\.org=carol@fwd\.example\.net$/);
  assert.deepEqual(ndr.srsReverse({ config: site, address: fwd.address, now: NOW }), {
    address: 'carol@example.org',
    error: null,
  });
  assert.equal(ndr.srsReverse({ config: site, address: 'carol@example.org', now: NOW }).error, 'not_srs');
});

test('shouldBounce and buildDsn', () => {
  const plain = 'From: a@example.org\r\nTo: b@example.com\r\nSubject: x\r\n\r\nbody\r\n';
  const answer = ndr.shouldBounce(plain, { envelope: { mail_from: 'a@example.org', rcpt_to: ['b@example.com'] }, now: NOW });
  assert.ok(['send', 'send_headers_only', 'drop'].includes(answer.decision));
  assert.equal(typeof answer.reason, 'string');
  const nullSender = ndr.shouldBounce(plain, { envelope: { mail_from: '', rcpt_to: ['b@example.com'] }, now: NOW });
  assert.equal(nullSender.decision, 'drop');
  const report = ndr.buildDsn(plain, {
    envelope: { mail_from: 'a@example.org', rcpt_to: ['b@example.com'] },
    failure: { recipients: [{ address: 'b@example.com', status: '5.1.1' }], reporting_mta: 'mx.example.com' },
    now: NOW,
  });
  assert.equal(report.mail_from, '');
  assert.deepEqual(report.rcpt_to, ['a@example.org']);
  assert.equal(ndr.classify(report.message, { now: NOW }).recipients[0].status, '5.1.1');
});

test('errors are Error objects with a stable code and no secret', () => {
  const code = (fn) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof Error);
      return e.code;
    }
    assert.fail('no error thrown');
  };
  assert.equal(code(() => ndr.classify(42)), 'bad_input');
  assert.equal(code(() => ndr.classify(null)), 'bad_input');
  assert.equal(code(() => ndr.classify('x', { bogus: true })), 'bad_json');
  assert.equal(code(() => ndr.classify('x', 'not an object')), 'bad_json');
  assert.equal(code(() => ndr.classify('x', { now: -1 })), 'bad_json');
  assert.equal(code(() => ndr.batvSign({ address: 'a@example.com' })), 'bad_config');
  const secret = 'x'.repeat(65);
  try {
    ndr.batvSign({ config: { batv: { keys: [{ digit: 1, secret }] } }, address: 'a@example.com' });
    assert.fail('a 65-byte key was accepted');
  } catch (e) {
    assert.equal(e.code, 'bad_config');
    assert.ok(!e.message.includes(secret), 'the error shows the secret');
  }
  assert.equal(code(() => ndr.srsForward({ config: {}, address: 'a@example.com' })), 'bad_config');
});

test('now defaults to the clock', () => {
  const signed = ndr.batvSign({ config: site, address: 'dave@example.com' });
  const day = Math.floor(Date.now() / 86400000) % 1000;
  // Key 2 signs from 2026-11-24 on; before that, key 1 does. Either way DDD is today's.
  assert.match(signed.address, new RegExp(`^prvs=\\d${String((day + 7) % 1000).padStart(3, '0')}`));
});

test('hostile input gets a report, not an exception', () => {
  const deep = 'Content-Type: message/rfc822\r\n\r\n'.repeat(5000) + 'Subject: end\r\n\r\nx';
  const r = ndr.classify(deep, { now: NOW });
  assert.equal(typeof r.kind, 'string');
  const nul = ndr.classify(Buffer.from([0, 0, 0, 13, 10, 0xff, 0xfe]), { now: NOW });
  assert.equal(typeof nul.kind, 'string');
});
