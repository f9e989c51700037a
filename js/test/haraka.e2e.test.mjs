// The Haraka plugin (haraka-plugin/) end to end: Haraka from npm (a dev dependency) runs as a child
// process on 127.0.0.1 with a config folder written here (smtp.ini, plugins, ndr.ini, the site
// as TOML, host_list, quarantine.ini) and is driven over SMTP by a small client on a raw socket.
// Delivered mail is recorded by a queue plugin of this test (queue_record.js: one file per
// message); queue/quarantine and queue/discard are Haraka's own. The plugin is installed as the
// README says (npm install --install-links, from npm's cache where it can); for the broken-module case the installed
// ndr-filter's wasm module is replaced by garbage. Loopback only; every Haraka process is killed
// when its test ends (and on exit).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { corpusDir, jsDir, ndrJson } from './helpers.mjs';

const ndr = createRequire(import.meta.url)('../index.cjs');
const harakaBin = path.join(jsDir, 'node_modules', 'Haraka', 'bin', 'haraka');
const pluginDir = path.join(jsDir, 'haraka-plugin');

const USER = 'alice@ours.example';
const RELAY = 'relay1.ours.example';
const BATV_SECRET = 'haraka-test-key-5d1e8b';
const KEYS = [{ digit: 3, secret: BATV_SECRET, sign_from: 1700000000 }];
const FORGED = 'prvs=3000000000=alice@ours.example';
const now = () => Math.floor(Date.now() / 1000);

/** The site file: the same TOML a `ndr milter --config` reads, keys included. */
function siteToml({ policy = '', service = '' } = {}) {
  return `[site]
domains = ["ours.example"]
relays = ["${RELAY}"]
never_sending = ["no-reply@ours.example"]

[batv]
lifetime_days = 7
${KEYS.map((k) => `[[batv.keys]]\ndigit = ${k.digit}\nsecret = "${k.secret}"\nsign_from = ${k.sign_from}\n`).join('')}
[policy]
${policy}

[service]
${service}
`;
}
const CONFIG = { site: { domains: ['ours.example'], relays: [RELAY], never_sending: ['no-reply@ours.example'] }, batv: { lifetime_days: 7, keys: KEYS } };

// Haraka looks up the client's reverse DNS before anything else; this answers it without DNS.
const NO_RDNS = `exports.hook_lookup_rdns = (next) => next(OK, 'localhost')
`;

const QUEUE_RECORD = `// Records each delivered message: its envelope and data, one file each.
const fs = require('node:fs')
const path = require('node:path')
exports.hook_queue = function (next, connection) {
    const txn = connection.transaction
    const out = path.join(process.env.HARAKA, 'delivered')
    fs.mkdirSync(out, { recursive: true })
    txn.message_stream.get_data((data) => {
        const from = txn.mail_from.isNull() ? '' : String(txn.mail_from.address)
        fs.writeFileSync(path.join(out, txn.uuid + '.json'), JSON.stringify({ from, to: txn.rcpt_to.map((a) => String(a.address)) }))
        fs.writeFileSync(path.join(out, txn.uuid + '.eml'), data)
        next(OK, 'recorded ' + txn.uuid)
    })
}
`;

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The plugin installed as the README says (`npm install --install-links js/haraka-plugin` in
 * Haraka's folder: copies of it, of ndr-filter with its wasm module, and of their dependencies),
 * once. `--prefer-offline` takes the dependencies' tarballs from npm's cache, which `npm ci` in js/
 * filled; their version lists (which `npm ci` does not cache) may come from the registry.
 */
let installed = null;
function installPlugin() {
  if (installed) return installed;
  const dir = mkdtempSync(path.join(tmpdir(), 'ndr-haraka-install-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'package.json'), '{"name": "haraka_local", "version": "0.0.1", "private": true}\n');
  const npm = spawnSync('npm', ['install', '--prefer-offline', '--install-links', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error', pluginDir], {
    cwd: dir,
    encoding: 'utf8',
  });
  assert.equal(npm.status, 0, `npm install --prefer-offline --install-links haraka-plugin failed:\n${npm.stderr}`);
  installed = path.join(dir, 'node_modules');
  assert.ok(existsSync(path.join(installed, 'ndr-filter', 'dist', 'node', 'ndr_filter_bg.wasm')));
  return installed;
}
/** A Haraka with the plugin, listening on a free loopback port; `site` is the site.toml text. */
async function startHaraka(t, { site = siteToml(), ini = '', broken = false, longLines = false } = {}) {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'ndr-haraka-')), 'haraka');
  const port = await freePort();
  const cfg = (name, text) => writeFileSync(path.join(dir, 'config', name), text);
  // `haraka -i DIR` lays out a config folder with Haraka's defaults, as an installation does.
  const install = spawnSync(process.execPath, [harakaBin, '-i', dir], { encoding: 'utf8' });
  assert.equal(install.status, 0, install.stderr);
  // nodes=0: one process (no cluster workers), so killing the child ends Haraka.
  cfg('smtp.ini', `[main]\nlisten=127.0.0.1:${port}\nnodes=0\n`);
  cfg('me', 'mx.ours.example\n');
  if (longLines) {
    // Haraka wraps DATA lines over 992 bytes ("\r\n " inserted, as Sendmail does); lifted where
    // the filter must see exactly the bytes sent.
    const ini = path.join(dir, 'config', 'connection.ini');
    writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^data_line_length=\d+$/m, 'data_line_length=100000000'));
  }
  cfg('log.ini', '[main]\nlevel=info\ntimestamps=false\nformat=default\n');
  cfg('host_list', 'ours.example\n');
  cfg('quarantine.ini', `[main]\nquarantine_path=${path.join(dir, 'quarantine')}\n`);
  cfg('plugins', ['no_rdns', 'ndr', 'rcpt_to.in_host_list', 'queue/quarantine', 'queue/discard', 'queue_record', ''].join('\n'));
  writeFileSync(path.join(dir, 'site.toml'), site);
  cfg('ndr.ini', `[main]\nsite=${path.join(dir, 'site.toml')}\n${ini}`);
  writeFileSync(path.join(dir, 'plugins', 'queue_record.js'), QUEUE_RECORD);
  writeFileSync(path.join(dir, 'plugins', 'no_rdns.js'), NO_RDNS);
  cpSync(installPlugin(), path.join(dir, 'node_modules'), { recursive: true });
  if (broken) {
    // The filter's wasm module replaced by garbage: the package cannot load.
    writeFileSync(path.join(dir, 'node_modules', 'ndr-filter', 'dist', 'node', 'ndr_filter_bg.wasm'), Buffer.from('\0asm\x01\0\0\0garbage, not a module'));
  }

  const child = spawn(process.execPath, [harakaBin, '-c', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const kill = () => child.exitCode === null && child.kill('SIGKILL');
  process.on('exit', kill);
  t.after(() => {
    kill();
    if (process.env.NDR_HARAKA_LOG) console.log(log);
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });
  // Ready when the port answers; bounded.
  const deadline = Date.now() + 30_000;
  for (;;) {
    assert.equal(child.exitCode, null, `haraka exited:\n${log}`);
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s.end() && true)).on('error', () => resolve(false));
    });
    if (up) break;
    assert.ok(Date.now() < deadline, `haraka did not listen within 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dir,
    port,
    log: () => log,
    send: (opts) => smtpSend(port, opts),
    delivered: () => listMessages(path.join(dir, 'delivered'), '.eml'),
    quarantined: () => listMessages(path.join(dir, 'quarantine', 'ndr')),
    /** The log line matching `pattern`, once Haraka has written it. */
    async logLine(pattern) {
      for (let i = 0; i < 100; i++) {
        const line = log.split('\n').find((l) => pattern.test(l));
        if (line) return line;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail(`no Haraka log line matches ${pattern}; got:\n${log}`);
    },
  };
}

function listMessages(dir, ext = '') {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith(ext)) out.push(readFileSync(path.join(e.parentPath ?? e.path, e.name), 'latin1'));
  }
  return out;
}

/** SMTP carries lines: every line ending (CRLF, LF, a lone CR) as CRLF. */
const toCrlf = (data) => data.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');

/**
 * One SMTP transaction on a raw socket: EHLO, MAIL, each RCPT, DATA (when a recipient was
 * taken), QUIT. Returns every reply; bounded to 20 s.
 */
function smtpSend(port, { from, to, data, helo = 'client.remote.example' }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => socket.destroy(new Error('SMTP client timed out')), 20_000);
    let buffer = '';
    const waiting = [];
    socket.setEncoding('latin1');
    socket.on('data', (d) => {
      buffer += d;
      // A reply ends with a line "NNN text" (not "NNN-text").
      for (let m; (m = /^(?:\d{3}-[^\n]*\n)*(\d{3})(?: [^\n]*)?\r?\n/.exec(buffer)); ) {
        buffer = buffer.slice(m[0].length);
        waiting.shift()?.(m[0].trim());
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const reply = () => new Promise((r) => waiting.push(r));
    const command = (line) => {
      socket.write(`${line}\r\n`);
      return reply();
    };
    (async () => {
      const out = { greeting: await reply() };
      out.ehlo = await command(`EHLO ${helo}`);
      out.mail = await command(`MAIL FROM:<${from}>`);
      out.rcpt = [];
      for (const r of to) out.rcpt.push(await command(`RCPT TO:<${r}>`));
      if (out.rcpt.some((r) => r.startsWith('250'))) {
        out.data = await command('DATA');
        const body = toCrlf(data).replace(/^\./gm, '..');
        out.end = await command(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.`);
      }
      await command('QUIT');
      clearTimeout(timer);
      socket.end();
      resolve(out);
    })().catch(reject);
  });
}

const corpusFile = (...p) => readFileSync(path.join(corpusDir, ...p), 'latin1');
const BOUNCE = () => corpusFile('bounces', 'eml', 'rfc3464-01.eml');
const HAM = () => corpusFile('ham', 'eml', 'cpython__msg_01.txt.eml');

/**
 * A corpus bounce made into a bounce of our mail, as tests/tests/scenarios.rs does: the returned
 * original's Message-ID at our domain, our user as its sender, a Received line from our relay.
 */
function ours(raw) {
  const original = ndr.classify(Buffer.from(raw, 'latin1')).original;
  const id = original.message_id;
  const domain = id.slice(id.lastIndexOf('@') + 1);
  const received = `Received: from ${RELAY} (${RELAY} [198.51.100.7]) by mx.remote.example with ESMTPS;\n`;
  let out = raw.replace(/^message-id:[^\n]*$/gim, (line) => (line.includes(id) ? received + line : line));
  out = out.split(`@${domain}>`).join('@ours.example>');
  for (const sender of [original.from, original.return_path]) if (sender?.includes('@')) out = out.split(sender).join(USER);
  assert.notEqual(out, raw);
  return out;
}

/** A header's values in a delivered message (unfolded). */
function headers(message, name) {
  const head = message.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  return head.split(/\r?\n/).filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(name.length + 1).trim());
}

test('Haraka with haraka-plugin-ndr', { timeout: 90_000 }, async (t) => {
  const haraka = await startHaraka(t);
  await haraka.logLine(/ndr: site .*site\.toml, ABI \d+\.\d+, BATV 1 key\(s\), max_message_bytes 33554432/);

  await t.test('a legitimate bounce (ours, to a valid BATV tag) is accepted with X-NDR-Verdict: legitimate', async () => {
    const tagged = ndr.batvSign({ config: CONFIG, address: USER, destination: 'userunknown@bouncehammer.jp', now: now() });
    assert.equal(tagged.signed, true);
    const raw = ours(BOUNCE());
    const out = await haraka.send({ from: '', to: [tagged.address], data: raw });
    assert.match(out.rcpt[0], /^250 /);
    assert.match(out.end, /^250 .*recorded/);
    const [message] = haraka.delivered().filter((m) => m.includes('ours.example>'));
    const expected = ndr.classify(Buffer.from(raw, 'latin1'), {
      envelope: { mail_from: '', rcpt_to: [tagged.address], client_ip: '127.0.0.1', helo: 'client.remote.example' },
      config: CONFIG,
    });
    assert.deepEqual(headers(message, 'X-NDR-Verdict'), [`legitimate; action=accept; score=${expected.score}`]);
    assert.match(headers(message, 'X-NDR-Signals')[0], /(^|, )batv=valid\(100\)(,|$)/);
    await haraka.logLine(/ndr: kind=bounce verdict=legitimate action=accept/);
  });

  await t.test('a backscatter bounce to a forged tag is refused at RCPT with 550', async () => {
    const before = haraka.delivered().length;
    const out = await haraka.send({ from: '', to: [FORGED], data: BOUNCE() });
    assert.match(out.rcpt[0], /^550 5\.7\.1 Backscatter refused: invalid BATV signature$/);
    assert.equal(out.data, undefined, 'no recipient, no DATA');
    assert.equal(haraka.delivered().length, before);
    await haraka.logLine(/ndr: rcpt prvs=3000000000=alice@ours\.example batv=bad_signature action=reject/);
  });

  await t.test('the same forged tag from a real sender is not a bounce: not refused at RCPT', async () => {
    const out = await haraka.send({ from: 'someone@origin.example', to: [FORGED], data: HAM() });
    assert.match(out.rcpt[0], /^250 /);
    assert.match(out.end, /^250 /);
  });

  await t.test('an untagged backscatter bounce (original not via our relays) is quarantined with its verdict', async () => {
    const delivered = haraka.delivered().length;
    const out = await haraka.send({ from: '', to: [USER], data: BOUNCE() });
    assert.match(out.end, /^250 Message accepted \(held by the backscatter filter\)/);
    assert.equal(haraka.delivered().length, delivered, 'not delivered');
    const held = haraka.quarantined();
    assert.equal(held.length, 1);
    assert.match(headers(held[0], 'X-NDR-Verdict')[0], /^backscatter; action=quarantine; score=-\d+$/);
    assert.match(headers(held[0], 'X-NDR-Signals')[0], /original_via_our_relay=none of \d+ quoted Received lines\(-40\)/);
  });

  await t.test('ordinary mail is accepted unchanged (no header added, the message as sent)', async () => {
    const raw = HAM();
    const out = await haraka.send({ from: 'sender@origin.example', to: [USER], data: raw });
    assert.match(out.end, /^250 /);
    const message = haraka.delivered().find((m) => m.includes('cpython') || m.includes(raw.split('\n').find((l) => /^subject:/i.test(l))));
    assert.ok(message, 'delivered');
    assert.deepEqual(headers(message, 'X-NDR-Verdict'), []);
    // Haraka itself prepends its Received line; after it, the message is byte for byte what was sent.
    const sent = raw.replace(/\r?\n/g, '\r\n');
    assert.ok(message.replace(/\r?\n/g, '\r\n').endsWith(sent.endsWith('\r\n') ? sent : `${sent}\r\n`));
    await haraka.logLine(/ndr: kind=normal verdict=null action=null/);
  });

  await t.test('a line that starts with a dot arrives as sent (SMTP dot-stuffing undone)', async () => {
    const raw = HAM().replace(/\n\n/, '\n\n.a line that starts with a dot\n..and one with two\n');
    const out = await haraka.send({ from: 'sender@origin.example', to: [USER], data: raw });
    assert.match(out.end, /^250 /);
    // The queue plugin reads the message as the filter does (message_stream.get_data).
    const message = haraka.delivered().find((m) => m.includes('a line that starts with a dot'));
    assert.match(message, /\r?\n\.a line that starts with a dot\r?\n\.\.and one with two\r?\n/);
  });

  await t.test('verdict headers sent from outside are removed', async () => {
    const tagged = ndr.batvSign({ config: CONFIG, address: USER, now: now() });
    const withForged = `X-NDR-Verdict: legitimate; action=accept; score=999\nX-NDR-Signals: forged-by-sender\n${ours(BOUNCE())}`;
    const before = haraka.delivered().length;
    const out = await haraka.send({ from: '', to: [tagged.address], data: withForged });
    assert.match(out.end, /^250 /);
    const delivered = haraka.delivered();
    assert.equal(delivered.length, before + 1);
    const message = delivered.find((m) => m.includes(`${tagged.address}`) || !m.includes('forged-by-sender')) && delivered.filter((m) => headers(m, 'X-NDR-Verdict').length > 0);
    for (const m of message) {
      assert.deepEqual(headers(m, 'X-NDR-Verdict').filter((v) => v.includes('999')), []);
      assert.equal(headers(m, 'X-NDR-Verdict').length, 1);
      assert.ok(!m.includes('forged-by-sender'));
    }
    assert.equal(message.length, 2, 'this message and the first legitimate one carry a verdict');
  });

  await t.test('no log line holds the BATV key', () => {
    assert.ok(!haraka.log().includes(BATV_SECRET));
  });
});

test('Haraka: with rcpt_reject = [], a forged tag is rejected at end of data with the verdict\'s SMTP reply', { timeout: 90_000 }, async (t) => {
  const haraka = await startHaraka(t, { site: siteToml({ service: 'rcpt_reject = []' }) });
  const expected = ndr.classify(Buffer.from(BOUNCE(), 'latin1'), { envelope: { mail_from: '', rcpt_to: [FORGED] }, config: CONFIG });
  assert.equal(expected.action, 'reject');
  const out = await haraka.send({ from: '', to: [FORGED], data: BOUNCE() });
  assert.match(out.rcpt[0], /^250 /);
  assert.equal(out.end, `${expected.smtp_reply.code} ${expected.smtp_reply.status} ${expected.smtp_reply.text}`);
  assert.deepEqual(haraka.delivered(), []);
});

test('Haraka: drop is accepted and discarded (queue/discard), nothing delivered', { timeout: 90_000 }, async (t) => {
  const haraka = await startHaraka(t, { site: siteToml({ policy: 'backscatter_strong = "drop"', service: 'rcpt_reject = []' }) });
  const out = await haraka.send({ from: '', to: [FORGED], data: BOUNCE() });
  assert.match(out.end, /^250 /);
  await haraka.logLine(/verdict=backscatter action=drop/);
  await haraka.logLine(/discarding message/);
  assert.deepEqual(haraka.delivered(), []);
  assert.deepEqual(haraka.quarantined(), []);
});

test('Haraka: a message over max_message_bytes is accepted unscanned with a log line', { timeout: 90_000 }, async (t) => {
  const haraka = await startHaraka(t, { ini: 'max_message_bytes=1000\n' });
  const out = await haraka.send({ from: '', to: [USER], data: BOUNCE() });
  assert.match(out.end, /^250 .*recorded/);
  const [message] = haraka.delivered();
  assert.deepEqual(headers(message, 'X-NDR-Verdict'), []);
  await haraka.logLine(/ndr: message of \d+ bytes is larger than max_message_bytes \(1000\): accepted unscanned/);
});

test('Haraka fails open: a garbage wasm module in ndr-filter lets every message through unchanged', { timeout: 90_000 }, async (t) => {
  const haraka = await startHaraka(t, { broken: true });
  await haraka.logLine(/ndr: the ndr-filter module cannot be loaded: CompileError: .*every message passes unscanned \(fail-open\)/);
  const out = await haraka.send({ from: '', to: [FORGED], data: BOUNCE() });
  assert.match(out.rcpt[0], /^250 /, 'not refused at RCPT');
  assert.match(out.end, /^250 .*recorded/);
  const [message] = haraka.delivered();
  assert.deepEqual(headers(message, 'X-NDR-Verdict'), []);
  await haraka.logLine(/ndr: data: .*fail-open, passed unscanned/);
});

test('Haraka fails open: a site configuration the module refuses, without showing the key', { timeout: 90_000 }, async (t) => {
  const secret = 'super-secret-batv-key-'.repeat(4);
  const site = siteToml().replace(BATV_SECRET, secret).replace('[policy]', '[policy]\nno_such_field = 1');
  const haraka = await startHaraka(t, { site });
  await haraka.logLine(/ndr: the module refuses the site configuration: .*every message passes unscanned \(fail-open\)/);
  const out = await haraka.send({ from: '', to: [FORGED], data: BOUNCE() });
  assert.match(out.end, /^250 .*recorded/);
  assert.ok(!haraka.log().includes(secret.slice(0, 20)));
});

test('every corpus message from <> through Haraka: Haraka does what the verdict says', { timeout: 300_000 }, async (t) => {
  const haraka = await startHaraka(t, { longLines: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'ndr-haraka-corpus-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const written = ndrJson(['split', corpusDir, '--out', dir]);
  const helo = 'client.remote.example';
  const tally = {};
  const wrong = [];
  for (const { written: file } of written) {
    const raw = readFileSync(file);
    // A message whose first line is blanks only has a malformed header section: the Received
    // line Haraka puts on top turns that line into its continuation, so Haraka's message is
    // another message than the one classified here. Counted, not compared.
    if (/^[ \t]+\r?\n/.test(raw.toString('latin1'))) {
      tally['skipped: first line blank'] = (tally['skipped: first line blank'] ?? 0) + 1;
      continue;
    }
    const sent = Buffer.from(toCrlf(raw), 'latin1');
    const report = ndr.classify(sent, { envelope: { mail_from: '', rcpt_to: [USER], client_ip: '127.0.0.1', helo }, config: CONFIG });
    const out = await haraka.send({ from: '', to: [USER], data: raw, helo });
    const { verdict, action } = report;
    const uuid = /\(([0-9A-F-]+\.\d+)\)$/.exec(out.end ?? '')?.[1];
    const delivered = uuid && existsSync(path.join(haraka.dir, 'delivered', `${uuid}.eml`)) ? readFileSync(path.join(haraka.dir, 'delivered', `${uuid}.eml`), 'latin1') : null;
    let ok;
    if (verdict === null || action === null) ok = delivered !== null && headers(delivered, 'X-NDR-Verdict').length === 0;
    else if (action === 'reject' || action === 'tempfail') ok = out.end === `${report.smtp_reply.code} ${report.smtp_reply.status} ${report.smtp_reply.text}`;
    else if (action === 'quarantine') ok = /^250 Message accepted \(held by the backscatter filter\)/.test(out.end) && delivered === null;
    else if (action === 'drop') ok = /^250 /.test(out.end) && delivered === null;
    else ok = delivered !== null && headers(delivered, 'X-NDR-Verdict')[0] === `${verdict}; action=${action}; score=${report.score}`;
    if (!ok) wrong.push(`${file}: ${verdict}/${action}: ${out.rcpt?.[0]} / ${out.end}`);
    const key = `${verdict ?? 'no verdict'}/${action ?? 'delivered'}`;
    tally[key] = (tally[key] ?? 0) + 1;
  }
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${written.length} not as the verdict says`);
  assert.ok(tally['backscatter/quarantine'] > 100 && tally['no verdict/delivered'] > 1000, JSON.stringify(tally));
  assert.doesNotMatch(haraka.log(), /fail-open/);
  console.log(`haraka sweep: ${written.length} corpus messages: ${JSON.stringify(tally)}`);
});
