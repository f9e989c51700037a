// The Email Worker (email-worker/) end to end in workerd: wrangler bundles it exactly as
// `wrangler deploy` would (its wrangler.toml, the CompiledWasm rule), and miniflare runs that
// bundle. Corpus mail is delivered as real email events (miniflare's /cdn-cgi/handler/email,
// which calls the worker's email() with a ForwardableEmailMessage), and the events the handler
// causes are read back from miniflare: forward (destination and added headers) and setReject
// (the reason). Miniflare's local email endpoint only takes messages of at most 1 MiB with a
// Message-ID and header names a Headers object accepts; the sweep below counts what it refused.
// Nothing here uses the network (cf: false; wrangler's metrics and update check off).
import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Miniflare, Log, LogLevel } from 'miniflare';
import { NdrFilter } from '../abi/host.mjs';
import { abiModulePath, abiModuleBytes, trappingModuleBytes } from './abi-fixtures.mjs';
import { corpusDir, jsDir, ndrJson } from './helpers.mjs';

/** `wrangler deploy --dry-run` of a copy of the worker (with the module beside it, as the README says). */
function bundle() {
  const dir = mkdtempSync(path.join(tmpdir(), 'ndr-worker-build-'));
  cpSync(path.join(jsDir, 'email-worker'), path.join(dir, 'email-worker'), { recursive: true });
  cpSync(path.join(jsDir, 'abi'), path.join(dir, 'abi'), { recursive: true });
  cpSync(abiModulePath, path.join(dir, 'email-worker', 'ndr_filter.wasm'));
  const out = path.join(dir, 'out');
  const run = spawnSync(path.join(jsDir, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '--outdir', out], {
    cwd: path.join(dir, 'email-worker'),
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', WRANGLER_LOG_PATH: dir, HOME: dir },
  });
  assert.equal(run.status, 0, `wrangler deploy --dry-run failed:\n${run.stdout}\n${run.stderr}`);
  const wasm = readdirSync(out).filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, `the bundle has one wasm module: ${readdirSync(out)}`);
  const toml = readFileSync(path.join(jsDir, 'email-worker', 'wrangler.toml'), 'utf8');
  const compatibilityDate = /^compatibility_date = "([\d-]+)"$/m.exec(toml)[1];
  return { dir, out, compatibilityDate, script: path.join(out, 'worker.js'), wasmPath: path.join(out, wasm[0]) };
}

const built = bundle();
process.on('exit', () => rmSync(built.dir, { recursive: true, force: true }));

const INBOX = 'inbox@ours.example';
const QUARANTINE = 'quarantine@ours.example';
const USER = 'alice@ours.example';
const RELAY = 'relay1.ours.example';
const BATV_SECRET = 'worker-test-key-7f3a9c';
const SITE = {
  site: { domains: ['ours.example'], relays: [RELAY], never_sending: ['no-reply@ours.example'] },
  batv: { lifetime_days: 7 },
};
const BATV_KEYS = [{ digit: 3, secret: BATV_SECRET, sign_from: 1700000000 }];
const CONFIG = { ...SITE, batv: { ...SITE.batv, keys: BATV_KEYS } };

const node = new NdrFilter(new WebAssembly.Module(abiModuleBytes()));
const now = () => Math.floor(Date.now() / 1000);
const corpusFile = (...p) => readFileSync(path.join(corpusDir, ...p), 'utf8');

/** Miniflare's log, kept: its own lines (forward, reject) and the worker's console lines. */
class Recorder extends Log {
  lines = [];
  workerLines = [];
  constructor() {
    super(LogLevel.DEBUG);
  }
  logWithLevel(level, message) {
    this.lines.push(String(message).replace(/\x1b\[[0-9;]*m/g, ''));
  }
}

/** The bundled worker in workerd with these bindings (and, to test failures, another module in place of the filter). */
async function startWorker(bindings, wasm = abiModuleBytes()) {
  const log = new Recorder();
  const mf = new Miniflare({
    log,
    cf: false, // the default fetches Request.cf from the network; nothing here may
    modulesRoot: built.out,
    modules: [
      { type: 'ESModule', path: built.script },
      { type: 'CompiledWasm', path: built.wasmPath, contents: wasm },
    ],
    compatibilityDate: built.compatibilityDate,
    unsafeTriggerHandlers: true,
    bindings: { NDR_FORWARD_TO: INBOX, NDR_QUARANTINE_TO: QUARANTINE, NDR_SITE: JSON.stringify(SITE), NDR_BATV_KEYS: JSON.stringify(BATV_KEYS), ...bindings },
    handleStructuredLogs: ({ message }) => {
      log.workerLines.push(message);
    },
  });
  await mf.ready;
  return {
    log,
    dispose: () => mf.dispose(),
    /** Deliver one message; the events its handler caused. */
    async deliver(raw, { from = '<>', to = USER } = {}) {
      log.lines.length = 0;
      const url = `http://localhost/cdn-cgi/handler/email?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
      const res = await mf.dispatchFetch(url, { method: 'POST', body: raw });
      const text = await res.text();
      const events = [];
      // forward() logs before it returns, so its lines are here by the time the response is.
      for (const line of log.lines) {
        const m = /^Email handler forwarded message with\n {2}rcptTo: (\S+)(?:\n {2}headers:\n([\s\S]*))?$/.exec(line);
        if (m) {
          const headers = Object.fromEntries((m[2] ?? '').split('\n').filter(Boolean).map((h) => h.trim().split(/: (.*)/s).slice(0, 2)));
          events.push({ type: 'forward', to: m[1], headers });
        }
      }
      const rejected = /^Worker rejected email with the following reason: (.*)$/s.exec(text);
      if (res.status === 400 && rejected) events.push({ type: 'reject', reason: rejected[1] });
      else if (res.status !== 200) return { refused: `${res.status} ${text}` };
      return { events };
    },
    /** The worker's console line that matches, once it has arrived (console output is streamed). */
    async workerLine(pattern) {
      for (let i = 0; i < 100; i++) {
        const line = log.workerLines.find((l) => pattern.test(l));
        if (line) return line;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail(`no worker log line matches ${pattern}; got:\n${log.workerLines.join('\n')}`);
    },
  };
}

/**
 * A corpus bounce made into a bounce of our mail, as tests/tests/scenarios.rs does: the returned
 * original's Message-ID at our domain, our user as its sender, a Received line from our relay.
 */
function ours(raw) {
  const original = node.classify(raw, { now: now() }).original;
  const id = original.message_id;
  const domain = id.slice(id.lastIndexOf('@') + 1);
  const received = `Received: from ${RELAY} (${RELAY} [198.51.100.7]) by mx.remote.example with ESMTPS;\n`;
  let out = raw
    .split(/(?<=\n)/)
    .map((line) => (/^message-id:/i.test(line) && line.includes(id) ? received + line : line))
    .join('');
  out = out.split(`@${domain}>`).join('@ours.example>');
  for (const sender of [original.from, original.return_path]) if (sender?.includes('@')) out = out.split(sender).join(USER);
  assert.notEqual(out, raw);
  return out;
}

const BOUNCE = () => corpusFile('bounces', 'eml', 'rfc3464-01.eml');
const HAM = () => corpusFile('ham', 'eml', 'cpython__msg_01.txt.eml');

test('Email Worker in workerd', async (t) => {
  const worker = await startWorker({});
  t.after(() => worker.dispose());

  await t.test('a legitimate bounce (ours, to a valid BATV tag) is forwarded with its verdict', async () => {
    const tagged = node.batvSign({ config: CONFIG, address: USER, destination: 'userunknown@bouncehammer.jp', now: now() });
    assert.equal(tagged.signed, true);
    const { events } = await worker.deliver(ours(BOUNCE()), { to: tagged.address });
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'forward');
    assert.equal(events[0].to, INBOX);
    assert.match(events[0].headers['x-ndr-verdict'], /^legitimate; action=accept; kind=bounce; score=\d+$/);
    assert.match(events[0].headers['x-ndr-signals'], /(^|, )batv=\+100(,|$)/);
  });

  await t.test('a backscatter bounce (a forged tag) is rejected with the verdict\'s SMTP reply', async () => {
    const forged = 'prvs=3000000000=alice@ours.example';
    const expected = node.classify(BOUNCE(), { envelope: { mail_from: '', rcpt_to: [forged] }, config: CONFIG, now: now() });
    assert.equal(expected.action, 'reject');
    const { events } = await worker.deliver(BOUNCE(), { to: forged });
    assert.deepEqual(events, [{ type: 'reject', reason: `${expected.smtp_reply.status} ${expected.smtp_reply.text}` }]);
    assert.match(events[0].reason, /^5\.7\.1 Backscatter/);
  });

  await t.test('backscatter on content evidence (untagged) goes to the quarantine address', async () => {
    const { events } = await worker.deliver(BOUNCE(), { to: USER });
    assert.equal(events.length, 1);
    assert.equal(events[0].to, QUARANTINE);
    assert.match(events[0].headers['x-ndr-verdict'], /^backscatter; action=quarantine; kind=bounce; score=-\d+$/);
  });

  await t.test('ordinary mail is forwarded untouched (no header added)', async () => {
    const { events } = await worker.deliver(HAM(), { from: 'sender@origin.example' });
    assert.deepEqual(events, [{ type: 'forward', to: INBOX, headers: {} }]);
    await worker.workerLine(/: kind=normal verdict=null action=null/);
  });

  await t.test('a message over NDR_MAX_MESSAGE_BYTES is forwarded untouched, unread, with a log line', async () => {
    const small = await startWorker({ NDR_MAX_MESSAGE_BYTES: '1000' });
    try {
      const { events } = await small.deliver(BOUNCE(), { to: 'prvs=3000000000=alice@ours.example' });
      assert.deepEqual(events, [{ type: 'forward', to: INBOX, headers: {} }]);
      await small.workerLine(/fail-open, forwarded untouched: message larger than NDR_MAX_MESSAGE_BYTES \(1000\)/);
    } finally {
      await small.dispose();
    }
  });

  await t.test('drop: nothing is forwarded and nothing rejected', async () => {
    const dropping = await startWorker({ NDR_SITE: JSON.stringify({ ...SITE, policy: { backscatter_strong: 'drop' } }) });
    try {
      const { events } = await dropping.deliver(BOUNCE(), { to: 'prvs=3000000000=alice@ours.example' });
      assert.deepEqual(events, []);
      await dropping.workerLine(/verdict=backscatter action=drop/);
    } finally {
      await dropping.dispose();
    }
  });
});

test('Email Worker fails open: a binding that is not the ABI module forwards the message untouched', async () => {
  const worker = await startWorker({}, new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  try {
    const { events } = await worker.deliver(BOUNCE(), { to: 'prvs=3000000000=alice@ours.example' });
    assert.deepEqual(events, [{ type: 'forward', to: INBOX, headers: {} }]);
    await worker.workerLine(/fail-open, forwarded untouched: AbiMismatchError: not an ndr-filter ABI 1 module: no ndr_abi_v1 export/);
  } finally {
    await worker.dispose();
  }
});

test('Email Worker fails open: a module that traps forwards the message untouched', async () => {
  const worker = await startWorker({}, trappingModuleBytes());
  try {
    const { events } = await worker.deliver(BOUNCE(), { to: 'prvs=3000000000=alice@ours.example' });
    assert.deepEqual(events, [{ type: 'forward', to: INBOX, headers: {} }]);
    await worker.workerLine(/fail-open, forwarded untouched: TrapError: ndr_classify: the module trapped/);
    // The next message gets a new instance and the same treatment: the worker keeps serving.
    const again = await worker.deliver(HAM());
    assert.deepEqual(again.events, [{ type: 'forward', to: INBOX, headers: {} }]);
  } finally {
    await worker.dispose();
  }
});

test('Email Worker and a bad BATV secret: no log line holds the secret', async () => {
  const secret = 'super-secret-batv-key-that-is-far-too-long-for-exim-'.repeat(2);
  // A key the module cannot use is skipped with a warning (the message is judged without BATV);
  // a secret that is not JSON makes the worker fail open.
  const badKey = await startWorker({ NDR_BATV_KEYS: JSON.stringify([{ digit: 5, secret }]) });
  const badJson = await startWorker({ NDR_BATV_KEYS: `[{"digit": 5, "secret": "${secret}"` });
  try {
    const forged = 'prvs=3000000000=alice@ours.example';
    const judged = await badKey.deliver(BOUNCE(), { to: forged });
    assert.equal(judged.events.length, 1);
    assert.equal(judged.events[0].to, QUARANTINE, 'without BATV the forged tag is not evidence: content evidence only');
    assert.match(await badKey.workerLine(/warnings: /), /batv: key 5 is 104 bytes/);
    const failedOpen = await badJson.deliver(BOUNCE(), { to: forged });
    assert.deepEqual(failedOpen.events, [{ type: 'forward', to: INBOX, headers: {} }]);
    assert.match(await badJson.workerLine(/fail-open/), /fail-open, forwarded untouched: NDR_BATV_KEYS is not valid JSON$/);
    for (const worker of [badKey, badJson]) {
      for (const line of [...worker.log.lines, ...worker.log.workerLines]) assert.ok(!line.includes(secret.slice(0, 20)), line);
    }
  } finally {
    await badKey.dispose();
    await badJson.dispose();
  }
});

test('every corpus message the local email endpoint takes: the worker does what the verdict says', async () => {
  const worker = await startWorker({});
  const dir = mkdtempSync(path.join(tmpdir(), 'ndr-worker-corpus-'));
  try {
    const written = ndrJson(['split', corpusDir, '--out', dir]);
    const tally = {};
    let refused = 0;
    for (const { written: file } of written) {
      const raw = readFileSync(file);
      const report = node.classify(raw, { envelope: { mail_from: '', rcpt_to: [USER] }, config: CONFIG, now: now() });
      const delivered = await worker.deliver(raw);
      if (delivered.refused) {
        refused += 1;
        continue;
      }
      const { action, verdict } = report;
      const { events } = delivered;
      const where = `${file}: ${verdict}/${action}`;
      if (verdict === null) {
        assert.deepEqual(events, [{ type: 'forward', to: INBOX, headers: {} }], where);
      } else if (action === 'reject') {
        assert.deepEqual(events, [{ type: 'reject', reason: `${report.smtp_reply.status} ${report.smtp_reply.text}` }], where);
      } else if (action === 'drop') {
        assert.deepEqual(events, [], where);
      } else {
        assert.equal(events.length, 1, where);
        assert.equal(events[0].to, action === 'quarantine' ? QUARANTINE : INBOX, where);
        assert.equal(events[0].headers['x-ndr-verdict'], `${verdict}; action=${action}; kind=${report.kind}; score=${report.score}`, where);
        assert.ok(events[0].headers['x-ndr-signals'], where);
      }
      const key = `${verdict ?? 'no verdict'}/${action ?? 'forward'}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    const delivered = written.length - refused;
    assert.ok(delivered > 1500, `only ${delivered} of ${written.length} messages delivered`);
    assert.ok(tally['backscatter/quarantine'] > 100 && tally['no verdict/forward'] > 1000, JSON.stringify(tally));
    assert.equal(worker.log.workerLines.filter((l) => l.includes('fail-open')).length, 0, 'no message failed open');
    console.log(`worker sweep: ${delivered} of ${written.length} corpus messages delivered (${refused} refused by miniflare's local endpoint): ${JSON.stringify(tally)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await worker.dispose();
  }
});
