// The Email Worker's handler: every message Email Routing hands to `email()` is classified by
// the ABI module (instantiated with no imports by ../abi/host.mjs) and then rejected, forwarded
// with its verdict, forwarded to quarantine or dropped. Fail-open: whenever the filter cannot
// give an answer, the message is forwarded untouched. worker.mjs binds it to the module.
import { NdrFilter } from '../abi/host.mjs';

const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
// The module needs about twice the message in memory, and wasm memory never shrinks: an instance
// grown past this is replaced after its call, so a Worker's isolate (128 MB) does not keep it.
const MAX_MODULE_MEMORY_BYTES = 32 * 1024 * 1024;

/** A problem that makes the worker forward the message untouched; its text never holds a secret. */
class FailOpen extends Error {}

/** JSON text or an already-parsed object (a wrangler `[vars]` table arrives parsed). */
function parseVar(value, name, { secret = false } = {}) {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (e) {
    // JSON.parse quotes the text it failed on: never pass a secret's on.
    throw new FailOpen(secret ? `${name} is not valid JSON` : `${name} is not valid JSON: ${e.message}`);
  }
}

/**
 * The site configuration (docs/ABI.md, "Site configuration") from NDR_SITE, with the BATV keys
 * from the secret NDR_BATV_KEYS (a JSON array of keys) and the SRS secrets from NDR_SRS_SECRETS
 * (a JSON array of strings). Returns the configuration and the secret strings, to keep them out
 * of every log line.
 */
export function siteConfig(env) {
  const config = structuredClone(parseVar(env.NDR_SITE, 'NDR_SITE') ?? {});
  const keys = parseVar(env.NDR_BATV_KEYS, 'NDR_BATV_KEYS', { secret: true });
  const srsSecrets = parseVar(env.NDR_SRS_SECRETS, 'NDR_SRS_SECRETS', { secret: true });
  if (keys !== undefined) {
    if (!Array.isArray(keys)) throw new FailOpen('NDR_BATV_KEYS is not a JSON array of keys');
    config.batv = { ...(config.batv ?? {}), keys };
  }
  if (srsSecrets !== undefined) {
    if (!Array.isArray(srsSecrets)) throw new FailOpen('NDR_SRS_SECRETS is not a JSON array of strings');
    if (!config.srs) throw new FailOpen('NDR_SRS_SECRETS is set but NDR_SITE has no srs section');
    config.srs = { ...config.srs, secrets: srsSecrets };
  }
  const secrets = [
    ...(config.batv?.keys ?? []).flatMap((k) => [k?.secret, k?.secret_hex, k?.secret_base64]),
    ...(config.srs?.secrets ?? []),
  ].filter((s) => typeof s === 'string' && s.length > 0);
  return { config, secrets };
}

/** The message's bytes, or null when it is larger than `limit` (reading stops there). */
export async function readRaw(message, limit) {
  if (Number.isFinite(message.rawSize) && message.rawSize > limit) return null;
  const reader = message.raw.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const raw = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    raw.set(chunk, at);
    at += chunk.byteLength;
  }
  return raw;
}

/** Header values are one line of printable ASCII (Email Routing adds them to the forwarded message). */
const headerValue = (s) => String(s).replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 900);

/** X-NDR-Verdict and X-NDR-Signals for a report that has a verdict. */
export function verdictHeaders(report) {
  const signals = report.signals
    .filter((s) => s.observed && s.weight !== 0)
    .map((s) => `${s.name}=${s.weight > 0 ? '+' : ''}${s.weight}`);
  return new Headers({
    'X-NDR-Verdict': headerValue(`${report.verdict}; action=${report.action}; kind=${report.kind}; score=${report.score}`),
    'X-NDR-Signals': headerValue(signals.join(', ') || 'none'),
  });
}

/** The envelope Email Routing saw; the null sender `<>` may come as "" or "<>". */
export function envelope(message) {
  const from = (message.from ?? '').trim();
  return { mail_from: from === '<>' ? '' : from, rcpt_to: [message.to] };
}

function redact(text, secrets) {
  let out = String(text);
  for (const s of secrets) out = out.split(s).join('[secret]');
  return out;
}

/**
 * The `email(message, env)` handler for a compiled ndr_filter.wasm. One filter per isolate:
 * instantiating once keeps the per-message cost to the call itself.
 */
export function emailHandler(ndrModule) {
  let filter = null;
  return async function email(message, env) {
    const forwardTo = env.NDR_FORWARD_TO;
    // Without a destination there is nowhere to fail open to: a configuration error, not a verdict.
    if (!forwardTo) throw new Error('NDR_FORWARD_TO is not set');
    const quarantineTo = env.NDR_QUARANTINE_TO || forwardTo;
    const limit = Number(env.NDR_MAX_MESSAGE_BYTES) > 0 ? Number(env.NDR_MAX_MESSAGE_BYTES) : DEFAULT_MAX_MESSAGE_BYTES;
    const who = `${headerValue(message.from)} -> ${headerValue(message.to)}`;
    let secrets = [];
    let report;
    try {
      const site = siteConfig(env);
      secrets = site.secrets;
      const raw = await readRaw(message, limit);
      if (raw === null) throw new FailOpen(`message larger than NDR_MAX_MESSAGE_BYTES (${limit})`);
      filter ??= new NdrFilter(ndrModule, { maxMemoryBytes: MAX_MODULE_MEMORY_BYTES });
      report = filter.classify(raw, { envelope: envelope(message), config: site.config, now: Math.floor(Date.now() / 1000) });
    } catch (e) {
      const why = e instanceof FailOpen ? e.message : `${e.name}: ${redact(e.message, secrets)}`;
      console.log(`ndr: ${who}: fail-open, forwarded untouched: ${why}`);
      await message.forward(forwardTo);
      return;
    }
    const action = report.action;
    // Warnings include a configuration the module could not use (a bad BATV key is skipped, not fatal).
    const warnings = report.warnings.length ? ` warnings: ${redact(report.warnings.join('; '), secrets)}` : '';
    console.log(`ndr: ${who}: kind=${report.kind} verdict=${report.verdict} action=${action} score=${report.score}${warnings}`);
    if (report.verdict === null || action === null) {
      // Ordinary mail: nothing to judge, nothing added.
      await message.forward(forwardTo);
    } else if (action === 'reject') {
      const reply = report.smtp_reply;
      // setReject returns nothing in production; awaiting it lets a test double record it first.
      await message.setReject(reply ? `${reply.status} ${reply.text}` : '5.7.1 Backscatter refused');
    } else if (action === 'quarantine') {
      await message.forward(quarantineTo, verdictHeaders(report));
    } else if (action === 'drop') {
      // Not forwarding is how an Email Worker drops a message.
    } else {
      // accept and tag; tempfail too, which an Email Worker cannot express: never lose the message.
      await message.forward(forwardTo, verdictHeaders(report));
    }
  };
}
