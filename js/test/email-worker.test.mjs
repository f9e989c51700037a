// The Email Worker's handler (email-worker/handler.mjs) in Node, with a stand-in for Email
// Routing's message: what the end-to-end test in workerd cannot reach (a stream without a size,
// the tempfail and tag actions, configuration forms). email-worker.e2e.test.mjs runs the bundle.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { emailHandler, envelope } from '../email-worker/handler.mjs';
import { abiModuleBytes } from './abi-fixtures.mjs';
import { corpusDir } from './helpers.mjs';

const INBOX = 'inbox@ours.example';
const FORGED = 'prvs=3000000000=alice@ours.example';
const SITE = { site: { domains: ['ours.example'], relays: ['relay1.ours.example'] } };
const KEYS = [{ digit: 3, secret: 'unit-test-key', sign_from: 1700000000 }];
const BOUNCE = readFileSync(path.join(corpusDir, 'bounces', 'eml', 'rfc3464-01.eml'));
const email = emailHandler(new WebAssembly.Module(abiModuleBytes()));

/** Email Routing's ForwardableEmailMessage, recording what the handler does with it. */
function message(raw, { from = '<>', to = FORGED, rawSize = raw.length, chunk = 512 } = {}) {
  const seen = { events: [], pulled: 0, cancelled: false };
  const stream = new ReadableStream({
    pull(controller) {
      if (seen.pulled >= raw.length) return controller.close();
      controller.enqueue(raw.subarray(seen.pulled, seen.pulled + chunk));
      seen.pulled += chunk;
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return {
    seen,
    from, to, rawSize, raw: stream, headers: new Headers(),
    async forward(rcptTo, headers) {
      seen.events.push({ type: 'forward', to: rcptTo, headers: Object.fromEntries(headers ?? []) });
    },
    setReject(reason) {
      seen.events.push({ type: 'reject', reason });
    },
  };
}

const env = (more = {}) => ({ NDR_FORWARD_TO: INBOX, NDR_SITE: JSON.stringify(SITE), NDR_BATV_KEYS: JSON.stringify(KEYS), ...more });

test('a stream without a size is read only up to NDR_MAX_MESSAGE_BYTES, then forwarded untouched', async (t) => {
  const log = t.mock.method(console, 'log', () => {});
  const m = message(BOUNCE, { rawSize: null });
  await email(m, env({ NDR_MAX_MESSAGE_BYTES: '1000' }));
  assert.deepEqual(m.seen.events, [{ type: 'forward', to: INBOX, headers: {} }]);
  assert.ok(m.seen.cancelled, 'the rest of the stream is cancelled');
  assert.ok(m.seen.pulled <= 1000 + 512, `read ${m.seen.pulled} bytes`);
  assert.match(log.mock.calls[0].arguments[0], /fail-open, forwarded untouched: message larger than NDR_MAX_MESSAGE_BYTES \(1000\)$/);
});

test('a message of exactly NDR_MAX_MESSAGE_BYTES is judged', async (t) => {
  t.mock.method(console, 'log', () => {});
  const m = message(BOUNCE, { rawSize: null });
  await email(m, env({ NDR_MAX_MESSAGE_BYTES: String(BOUNCE.length) }));
  assert.equal(m.seen.events[0].type, 'reject');
});

test('tempfail, which a Worker cannot express, and observe mode\'s tag forward with the verdict', async (t) => {
  t.mock.method(console, 'log', () => {});
  for (const [policy, action] of [[{ backscatter_strong: 'tempfail' }, 'tempfail'], [{ mode: 'observe' }, 'tag']]) {
    const m = message(BOUNCE);
    await email(m, env({ NDR_SITE: JSON.stringify({ ...SITE, policy }) }));
    assert.equal(m.seen.events.length, 1);
    assert.equal(m.seen.events[0].to, INBOX);
    assert.match(m.seen.events[0].headers['x-ndr-verdict'], new RegExp(`^backscatter; action=${action}; kind=bounce; score=-\\d+$`));
    assert.match(m.seen.events[0].headers['x-ndr-signals'], /batv=-100/);
  }
});

test('NDR_SITE may be a parsed table (wrangler [vars.NDR_SITE]) as well as JSON text', async (t) => {
  t.mock.method(console, 'log', () => {});
  const m = message(BOUNCE);
  await email(m, env({ NDR_SITE: SITE }));
  assert.equal(m.seen.events[0].type, 'reject');
});

test('the envelope: the null sender may come as "<>" or ""', () => {
  for (const [from, mailFrom] of [['<>', ''], ['', ''], [' <> ', ''], ['bob@origin.example', 'bob@origin.example']]) {
    assert.deepEqual(envelope({ from, to: 'alice@ours.example' }), { mail_from: mailFrom, rcpt_to: ['alice@ours.example'] });
  }
});

test('configuration errors: no NDR_FORWARD_TO throws; SRS secrets without an srs section fail open', async (t) => {
  const log = t.mock.method(console, 'log', () => {});
  await assert.rejects(email(message(BOUNCE), { NDR_SITE: JSON.stringify(SITE) }), /NDR_FORWARD_TO is not set/);
  const m = message(BOUNCE);
  await email(m, env({ NDR_SRS_SECRETS: '["s3cret-srs"]' }));
  assert.deepEqual(m.seen.events, [{ type: 'forward', to: INBOX, headers: {} }]);
  assert.match(log.mock.calls.at(-1).arguments[0], /NDR_SRS_SECRETS is set but NDR_SITE has no srs section$/);
  assert.ok(!log.mock.calls.some((c) => c.arguments[0].includes('s3cret-srs')));
});
