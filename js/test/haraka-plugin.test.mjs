// The Haraka plugin's hooks in Node with stand-in Haraka objects (a plugin context, a connection
// with a transaction): the envelope it judges (the null sender's forms), on_failure = "tempfail",
// replies that do not fit the action, and site files that must not show their keys when broken.
// haraka.e2e.test.mjs runs it inside a real Haraka.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const plugin = require('../haraka-plugin/index.js');
const constants = require('haraka-constants');
const { Address } = require('@haraka/email-address');
const { readSiteFile, parseReply, dsnOf, envelopeOf, serviceSettings, foldList } = plugin.ndr_internals;

const dir = mkdtempSync(path.join(tmpdir(), 'ndr-haraka-unit-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'unit-test-batv-secret-4c2f';

/** A plugin context as Haraka makes one: the exports as methods, config.get and log functions. */
function pluginWith(files, { ini = {}, filter } = {}) {
  const lines = [];
  const ctx = { ...plugin, ndr_module: filter };
  for (const level of ['loginfo', 'logcrit', 'logerror']) ctx[level] = (msg) => lines.push(`${level} ${msg}`);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  ctx.config = { get: () => ({ main: { ...ini } }) };
  ctx.load_ndr_ini();
  return { ctx, lines };
}

function connection({ from = '<>', to = ['alice@ours.example'], raw = 'Subject: x\r\n\r\nhello\r\n', relaying = false } = {}) {
  const lines = [];
  const headers = {};
  return {
    lines,
    remote: { ip: '192.0.2.25' },
    hello: { host: 'mx.sender.example' },
    relaying,
    loginfo: (_p, msg) => lines.push(`info ${msg}`),
    logerror: (_p, msg) => lines.push(`error ${msg}`),
    transaction: {
      mail_from: new Address(from),
      rcpt_to: to.map((a) => new Address(`<${a}>`)),
      notes: {},
      data_bytes: Buffer.byteLength(raw),
      header: { headers },
      added: [],
      add_header(k, v) {
        this.added.push([k, v]);
      },
      remove_header(k) {
        delete headers[k.toLowerCase()];
      },
      message_stream: { get_data: (cb) => cb(Buffer.from(raw)) },
    },
  };
}

/** Calls a hook; resolves with the arguments it gave to next(). */
function call(ctx, name, conn, params) {
  return new Promise((resolve) => ctx[name]((...args) => resolve(args), conn, params));
}

test('the envelope: the null sender <> is "", addresses bare, client IP and HELO from the connection', () => {
  const conn = connection({ from: '<>', to: ['prvs=3000000000=alice@ours.example', 'bob@ours.example'] });
  assert.deepEqual(envelopeOf(conn), {
    mail_from: '',
    rcpt_to: ['prvs=3000000000=alice@ours.example', 'bob@ours.example'],
    client_ip: '192.0.2.25',
    helo: 'mx.sender.example',
  });
  assert.equal(envelopeOf(connection({ from: '<someone@origin.example>' })).mail_from, 'someone@origin.example');
  // Haraka before 3.1 (address-rfc2821): address() is a method.
  const legacy = connection();
  legacy.transaction.rcpt_to = [{ address: () => 'carol@ours.example', isNull: () => false }];
  assert.deepEqual(envelopeOf(legacy).rcpt_to, ['carol@ours.example']);
});

test('SMTP replies: the verdict\'s reply when it fits the action, the default when not', () => {
  assert.deepEqual(parseReply('550 5.7.1 Backscatter refused'), { code: 550, subject: 7, detail: 1, text: 'Backscatter refused' });
  assert.equal(parseReply('550 4.7.1 mismatched class'), null);
  assert.equal(parseReply('250 ok'), null);
  assert.equal(dsnOf({ code: 554, status: '5.7.1', text: 'Refused: not ours' }, '550 5.7.1 x').reply, '5.7.1 Refused: not ours');
  assert.equal(dsnOf({ code: 554, status: '5.7.1', text: 'Refused' }, '550 5.7.1 x').code, 554);
  // A 4xx reply for a reject (or none at all) gets the action's own reply.
  const wrong = dsnOf({ code: 451, status: '4.7.1', text: 'later' }, '550 5.7.1 Backscatter refused');
  assert.deepEqual([wrong.code, wrong.reply], [550, '5.7.1 Backscatter refused']);
  assert.equal(dsnOf(null, '451 4.7.1 Try again later').code, 451);
});

test('[service]: defaults as the milter\'s, bad values refused', () => {
  assert.deepEqual(serviceSettings(undefined).rcpt_reject, ['bad_signature', 'malformed']);
  assert.throws(() => serviceSettings({ on_failure: 'reject' }), /on_failure/);
  assert.throws(() => serviceSettings({ rcpt_reply: '250 fine' }), /rcpt_reply/);
  assert.throws(() => serviceSettings({ header_prefix: 'X-NDR:' }), /header_prefix/);
});

test('a broken site file is reported without its text (a key may be on the broken line)', () => {
  writeFileSync(path.join(dir, 'bad.json'), `{"batv": {"keys": [{"digit": 3, "secret": "${SECRET}"`);
  writeFileSync(path.join(dir, 'bad.toml'), `[batv]\n[[batv.keys]]\ndigit = 3\nsecret = "${SECRET}\n`);
  for (const [file, pattern] of [['bad.json', /is not valid JSON$/], ['bad.toml', /is not valid TOML \(line \d+\)$/]]) {
    assert.throws(() => readSiteFile(path.join(dir, file)), (e) => pattern.test(e.message) && !e.message.includes(SECRET));
  }
});

test('on_failure = "tempfail": a module error answers DENYSOFT 451, the log line without the key', async () => {
  const site = `[batv]\n[[batv.keys]]\ndigit = 3\nsecret = "${SECRET}"\nsign_from = 1700000000\n\n[service]\non_failure = "tempfail"\n`;
  const failing = {
    ndr: {
      version: 'test',
      classify: (raw, req) => {
        if (raw.length === 0) return {}; // the start-up check passes
        throw Object.assign(new Error(`internal: key ${req.config.batv.keys[0].secret} broke`), { name: 'InternalError' });
      },
      batvVerify: () => ({ result: 'untagged' }),
    },
  };
  const { ctx } = pluginWith({ 'tempfail.toml': site }, { ini: { site: path.join(dir, 'tempfail.toml') }, filter: failing });
  const conn = connection();
  const [code, dsn] = await call(ctx, 'ndr_data_post', conn);
  assert.equal(code, constants.denysoft);
  assert.deepEqual([dsn.code, dsn.reply], [451, '4.7.1 Message filter unavailable, try again later']);
  assert.match(conn.lines.join('\n'), /ndr: data: InternalError: internal: key \[secret\] broke: DENYSOFT/);
  assert.ok(!conn.lines.join('\n').includes(SECRET));
  assert.deepEqual(conn.transaction.added, []);
});

test('a filter that cannot load, with on_failure = "tempfail": DENYSOFT; with the default: next()', async () => {
  const broken = { error: 'the ndr-filter module cannot be loaded: CompileError: bad' };
  const tempfail = pluginWith({ 's1.toml': '[service]\non_failure = "tempfail"\n' }, { ini: { site: path.join(dir, 's1.toml') }, filter: broken });
  assert.match(tempfail.lines.join('\n'), /logcrit ndr: the ndr-filter module cannot be loaded: CompileError: bad: every message gets DENYSOFT/);
  assert.equal((await call(tempfail.ctx, 'ndr_data_post', connection()))[0], constants.denysoft);
  const accept = pluginWith({ 's2.toml': '' }, { ini: { site: path.join(dir, 's2.toml') }, filter: broken });
  assert.deepEqual(await call(accept.ctx, 'ndr_data_post', connection()), []);
  // RCPT is never refused for a filter it does not have.
  assert.deepEqual(await call(tempfail.ctx, 'ndr_rcpt', connection(), [new Address('<prvs=3000000000=alice@ours.example>')]), []);
});

test('relayed (outbound) mail is not judged, and no RCPT check is made for it', async () => {
  let calls = 0;
  const counting = { ndr: { version: 'test', classify: () => (calls++, {}), batvVerify: () => (calls++, { result: 'bad_signature' }) } };
  const { ctx } = pluginWith({ 's3.toml': `[batv]\n[[batv.keys]]\ndigit = 3\nsecret = "k"\n` }, { ini: { site: path.join(dir, 's3.toml') }, filter: counting });
  const started = calls;
  const conn = connection({ relaying: true });
  assert.deepEqual(await call(ctx, 'ndr_rcpt', conn, [new Address('<prvs=3000000000=alice@ours.example>')]), []);
  assert.deepEqual(await call(ctx, 'ndr_data_post', conn), []);
  assert.equal(calls, started);
});

test('RCPT with the real filter: a forged tag is refused when the policy enforces, passed in observe mode', async () => {
  const key = `[[batv.keys]]\ndigit = 3\nsecret = "${SECRET}"\nsign_from = 1700000000\n`;
  const forged = [new Address('<prvs=3000000000=alice@ours.example>')];
  const enforcing = pluginWith({ 'enforce.toml': key }, { ini: { site: path.join(dir, 'enforce.toml') } });
  const [code, dsn] = await call(enforcing.ctx, 'ndr_rcpt', connection(), forged);
  assert.equal(code, constants.deny);
  assert.deepEqual([dsn.code, dsn.reply], [550, '5.7.1 Backscatter refused: invalid BATV signature']);
  // A real sender with the same tag is not a bounce: not checked.
  assert.deepEqual(await call(enforcing.ctx, 'ndr_rcpt', connection({ from: '<someone@origin.example>' }), forged), []);
  const observing = pluginWith({ 'observe.toml': `[policy]\nmode = "observe"\n\n${key}` }, { ini: { site: path.join(dir, 'observe.toml') } });
  const conn = connection();
  assert.deepEqual(await call(observing.ctx, 'ndr_rcpt', conn, forged), []);
  assert.match(conn.lines.join('\n'), /ndr: rcpt prvs=3000000000=alice@ours\.example batv=bad_signature action=continue/);
});

test('the signals header is folded after commas within 78 characters, and unfolds to the list', () => {
  const items = ['null_sender=true(0)', 'batv=valid(100)', 'original=message/rfc822(0)', 'original_sender=ours(10)', 'message_id=ours: 4711@ours.example(40)', 'x'.repeat(90)];
  const value = foldList('X-NDR-Signals', items);
  const lines = `X-NDR-Signals: ${value}`.split('\n');
  assert.ok(lines.length > 2);
  for (const line of lines.slice(0, -1)) assert.ok(line.length <= 78, line);
  assert.equal(value.replace(/\n /g, ' '), items.join(', '));
  assert.equal(foldList('X', ['a']), 'a');
});

test('a JSON site file (a .json name) is read as the TOML one, [service] kept out of the module\'s part', async () => {
  const site = { site: { domains: ['ours.example'] }, batv: { keys: [{ digit: 3, secret: SECRET, sign_from: 1700000000 }] }, service: { rcpt_reply: '554 5.7.1 No thanks' } };
  const { ctx, lines } = pluginWith({ 'site.json': JSON.stringify(site) }, { ini: { site: path.join(dir, 'site.json'), max_message_bytes: '5000' } });
  assert.match(lines.join('\n'), /loginfo ndr: site .*site\.json, ABI \d+\.\d+, BATV 1 key\(s\), max_message_bytes 5000/);
  assert.equal(ctx.ndr_settings.module.service, undefined);
  const [code, dsn] = await call(ctx, 'ndr_rcpt', connection(), [new Address('<prvs=3000000000=alice@ours.example>')]);
  assert.deepEqual([code, dsn.code, dsn.reply], [constants.deny, 554, '5.7.1 No thanks']);
  assert.ok(!lines.join('\n').includes(SECRET));
});
