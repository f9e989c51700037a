'use strict';
// haraka-plugin-ndr: the backscatter filter in Haraka. At RCPT a null-sender recipient whose
// BATV tag is forged is refused (as `ndr milter` does); at end of data (`data_post`) the message
// is classified with the transaction's envelope, client address and HELO, and the verdict's
// action is applied: DENY (the verdict's SMTP reply), DENYSOFT, quarantine (Haraka's
// queue/quarantine plugin), discard (queue/discard), or verdict headers. Fail-open: whenever the
// filter cannot answer, the message goes on unchanged (or DENYSOFT with on_failure = "tempfail").
// The filter is the ndr-filter npm package: its wasm module ships inside it, so there is no
// module path to configure.

const fs = require('node:fs');
const constants = require('haraka-constants');
const DSN = require('haraka-dsn');
const toml = require('smol-toml');

/** What the module reads of a message at most when `[limits] max_message_bytes` is not set. */
const MODULE_MAX_MESSAGE_BYTES = 32 << 20;

/** The `[service]` fields of site.toml this plugin reads, with the milter's defaults. */
const SERVICE_DEFAULTS = Object.freeze({
  on_failure: 'accept',
  header_prefix: 'X-NDR',
  rcpt_reject: ['bad_signature', 'malformed'],
  rcpt_reply: '550 5.7.1 Backscatter refused: invalid BATV signature',
});

/** A problem that makes messages pass unscanned; its text never holds a secret. */
class FailOpen extends Error {}

/** The site file: TOML (the milter's site.toml) or, for a `.json` name, its JSON form. */
function readSiteFile(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new FailOpen(`cannot read site file ${file}: ${e.code ?? e.message}`);
  }
  // Parser messages quote the text they failed on, which may be a key: only say where.
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch {
      throw new FailOpen(`site file ${file} is not valid JSON`);
    }
  }
  try {
    return toml.parse(text);
  } catch (e) {
    throw new FailOpen(`site file ${file} is not valid TOML${e.line ? ` (line ${e.line})` : ''}`);
  }
}

/** An SMTP reply line "550 5.7.1 text" as its parts; null when it is not a 4xx/5xx reply. */
function parseReply(line) {
  const m = /^([45]\d\d)(?: ([45])\.(\d{1,3})\.(\d{1,3}))?(?: (.*))?$/.exec(String(line));
  if (!m || (m[2] && m[2] !== m[1][0])) return null;
  return { code: Number(m[1]), subject: Number(m[3] ?? 7), detail: Number(m[4] ?? 1), text: m[5] ?? '' };
}

/** The `[service]` section: the fields read here, checked; the milter's other fields are ignored. */
function serviceSettings(section) {
  const s = { ...SERVICE_DEFAULTS, ...(section ?? {}) };
  const problems = [];
  if (!['accept', 'tempfail'].includes(s.on_failure)) problems.push('service.on_failure must be "accept" or "tempfail"');
  if (typeof s.header_prefix !== 'string' || !/^[\x21-\x39\x3b-\x7e]+$/.test(s.header_prefix)) {
    problems.push('service.header_prefix must be a header field name');
  }
  if (!Array.isArray(s.rcpt_reject) || !s.rcpt_reject.every((r) => typeof r === 'string')) {
    problems.push('service.rcpt_reject must be a list of BATV results');
  }
  if (!parseReply(s.rcpt_reply) || /[\r\n]/.test(s.rcpt_reply)) problems.push('service.rcpt_reply must be a 4xx/5xx SMTP reply');
  if (problems.length) throw new FailOpen(problems.join('; '));
  return s;
}

/** The secret strings of a module configuration, to keep them out of every log line. */
function secretsOf(module) {
  return [
    ...(module.batv?.keys ?? []).flatMap((k) => [k?.secret, k?.secret_hex, k?.secret_base64]),
    ...(module.srs?.secrets ?? []),
  ].filter((s) => typeof s === 'string' && s.length > 0);
}

function redact(text, secrets) {
  let out = String(text);
  for (const s of secrets) out = out.split(s).join('[secret]');
  return out;
}

/** Header values and log fields: one line of printable ASCII. */
const oneLine = (s) => String(s).replace(/[^\x20-\x7e]+/g, ' ').trim();

/**
 * The plugin's settings from ndr.ini's [main]: the site (module part, service part, secrets)
 * and the size limit. The module checks the site once here (as `ndr check-config` does), so a
 * configuration it refuses is reported at start, not on every message. A FailOpen thrown once
 * the [service] section is read carries it, so `on_failure` still applies.
 */
function prepare(main, loaded) {
  const doc = main.site ? readSiteFile(main.site) : {};
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new FailOpen('the site file is not a table');
  const { service, ...module } = doc;
  const settings = { module, service: serviceSettings(service), secrets: secretsOf(module) };
  const fail = (why) => Object.assign(new FailOpen(why), { service: settings.service });
  if (loaded.error) throw fail(loaded.error);
  const now = Math.floor(Date.now() / 1000);
  try {
    loaded.ndr.classify('', { config: module, now });
    if (module.batv) loaded.ndr.batvVerify({ config: module, address: 'check@example.invalid', now });
  } catch (e) {
    throw fail(`the module refuses the site configuration: ${redact(e.message, settings.secrets)}`);
  }
  const configured = Number(main.max_message_bytes);
  settings.limit = configured > 0 ? configured : (module.limits?.max_message_bytes ?? MODULE_MAX_MESSAGE_BYTES);
  return settings;
}

/** The bare address of a Haraka Address (a string property in Haraka 3.1+, a method before). */
function addressOf(a) {
  const v = a?.address;
  return String(typeof v === 'function' ? v.call(a) : (v ?? ''));
}

/** The envelope the module judges: "" for the null sender `<>`. */
function envelopeOf(connection) {
  const txn = connection.transaction;
  return {
    mail_from: !txn.mail_from || txn.mail_from.isNull() ? '' : addressOf(txn.mail_from),
    rcpt_to: txn.rcpt_to.map(addressOf),
    client_ip: connection.remote?.ip ?? null,
    helo: connection.hello?.host ?? null,
  };
}

/**
 * A list as a header value folded after its commas, so that lines stay within 78 characters
 * where the items allow (RFC 5322 2.1.1); unfolded it reads `a, b, c`.
 */
function foldList(name, items) {
  let value = '';
  let width = name.length + 2;
  for (const [i, item] of items.entries()) {
    if (i === 0) {
      value = item;
      width += item.length;
    } else if (width + item.length + 2 > 78) {
      value += `,\n ${item}`;
      width = 1 + item.length;
    } else {
      value += `, ${item}`;
      width += 2 + item.length;
    }
  }
  return value;
}

/** The milter's signal list: `name=value(weight)`. */
function signalList(report) {
  return report.signals.map((s) => `${s.name}=${s.value}(${s.weight})`);
}

/** A Haraka DSN for a reply: the verdict's smtp_reply, or a default for the action. */
function dsnOf(reply, fallback) {
  const r = reply ? parseReply(`${reply.code} ${reply.status} ${reply.text}`) : null;
  const f = parseReply(fallback);
  const use = r && r.code >= 400 && String(r.code)[0] === fallback[0] ? r : f;
  return DSN.create(use.code, oneLine(use.text) || f.text, use.subject, use.detail);
}

exports.register = function () {
  this.load_ndr_ini();
  this.register_hook('rcpt', 'ndr_rcpt');
  this.register_hook('data_post', 'ndr_data_post');
};

/** The filter: the ndr-filter package, loaded once; a package that cannot load leaves `error`. */
exports.ndr_filter = function () {
  if (this.ndr_module === undefined) {
    try {
      this.ndr_module = { ndr: require('ndr-filter') };
    } catch (e) {
      this.ndr_module = { error: `the ndr-filter module cannot be loaded: ${e.name}: ${oneLine(e.message).slice(0, 200)}` };
    }
  }
  return this.ndr_module;
};

exports.load_ndr_ini = function () {
  const cfg = this.config.get('ndr.ini', () => this.load_ndr_ini());
  const main = cfg.main ?? {};
  const loaded = this.ndr_filter();
  try {
    this.ndr_settings = prepare(main, loaded);
    const m = this.ndr_settings.module;
    this.loginfo(
      `ndr: site ${main.site ?? '(none: the filter knows no domain of ours)'}, ABI ${loaded.ndr.version}, ` +
        `BATV ${m.batv ? `${(m.batv.keys ?? []).length} key(s)` : 'off'}, max_message_bytes ${this.ndr_settings.limit}`,
    );
  } catch (e) {
    const why = e instanceof FailOpen ? e.message : `${e.name}: unexpected error`;
    this.ndr_settings = { error: why, service: e.service ?? SERVICE_DEFAULTS };
    const answer = this.ndr_settings.service.on_failure === 'accept' ? 'every message passes unscanned (fail-open)' : 'every message gets DENYSOFT (on_failure = "tempfail")';
    this.logcrit(`ndr: ${why}: ${answer}`);
  }
};

/** A failed classification or check: go on unchanged (on_failure = "accept") or DENYSOFT. */
exports.ndr_failed = function (next, connection, stage, why) {
  const onFailure = this.ndr_settings.service.on_failure;
  connection.logerror(this, `ndr: ${stage}: ${why}: ${onFailure === 'accept' ? 'fail-open, passed unscanned' : 'DENYSOFT'}`);
  if (onFailure === 'accept') return next();
  return next(constants.denysoft, DSN.create(451, 'Message filter unavailable, try again later', 7, 1));
};

/** RCPT: refuse a null-sender recipient whose BATV tag is forged (`[service] rcpt_reject`). */
exports.ndr_rcpt = function (next, connection, params) {
  const txn = connection.transaction;
  const s = this.ndr_settings;
  // Only inbound bounces; untagged recipients are decided at end of data, so address-verification
  // probes (MAIL FROM:<>, RCPT TO, QUIT) are never refused here.
  if (!txn?.mail_from?.isNull() || connection.relaying) return next();
  if (s.error || !s.module.batv || s.service.rcpt_reject.length === 0) return next();
  const rcpt = addressOf(params?.[0]);
  let verified;
  try {
    verified = this.ndr_filter().ndr.batvVerify({ config: s.module, address: rcpt });
  } catch (e) {
    return this.ndr_failed(next, connection, 'rcpt', `${e.name}: ${redact(oneLine(e.message), s.secrets)}`);
  }
  const refuse = s.module.policy?.mode !== 'observe' && s.service.rcpt_reject.includes(verified.result);
  connection.loginfo(this, `ndr: rcpt ${oneLine(rcpt)} batv=${verified.result} action=${refuse ? 'reject' : 'continue'}`);
  if (!refuse) return next();
  const r = parseReply(s.service.rcpt_reply);
  return next(r.code >= 500 ? constants.deny : constants.denysoft, DSN.create(r.code, r.text, r.subject, r.detail));
};

/** End of data: classify and apply the verdict's action. */
exports.ndr_data_post = function (next, connection) {
  const txn = connection.transaction;
  if (!txn) return next();
  const s = this.ndr_settings;
  if (s.error) return this.ndr_failed(next, connection, 'data', s.error);
  // Relayed (authenticated or relay-listed) clients send outbound mail: not a report to judge.
  if (connection.relaying) return next();
  if (txn.data_bytes > s.limit) {
    connection.loginfo(this, `ndr: message of ${txn.data_bytes} bytes is larger than max_message_bytes (${s.limit}): accepted unscanned`);
    return next();
  }
  let answered = false;
  const once = (fn) => {
    if (answered) return;
    answered = true;
    fn();
  };
  try {
    txn.message_stream.get_data((raw) =>
      once(() => {
        let report;
        try {
          report = this.ndr_filter().ndr.classify(raw, { envelope: envelopeOf(connection), config: s.module });
        } catch (e) {
          return this.ndr_failed(next, connection, 'data', `${e.name}: ${redact(oneLine(e.message), s.secrets)}`);
        }
        this.ndr_apply(next, connection, report);
      }),
    );
  } catch (e) {
    once(() => this.ndr_failed(next, connection, 'data', `cannot read the message: ${e.name}`));
  }
};

exports.ndr_apply = function (next, connection, report) {
  const txn = connection.transaction;
  const s = this.ndr_settings;
  const prefix = s.service.header_prefix;
  const { verdict, action } = report;
  const signals = signalList(report);
  const warnings = report.warnings.length ? ` warnings: ${redact(oneLine(report.warnings.join('; ')), s.secrets)}` : '';
  connection.loginfo(
    this,
    `ndr: kind=${report.kind} verdict=${verdict} action=${action} score=${report.score} signals=${oneLine(signals.join(', ')) || 'none'}${warnings}`,
  );
  // Verdict headers that arrive from outside are removed whatever the verdict.
  const own = `${prefix.toLowerCase()}-`;
  for (const name of Object.keys(txn.header.headers ?? {})) if (name.toLowerCase().startsWith(own)) txn.remove_header(name);
  // Only reports carry a verdict; ordinary mail passes with no header added.
  if (verdict === null || action === null) return next();
  if (['accept', 'tag', 'quarantine', 'drop'].includes(action)) {
    txn.add_header(`${prefix}-Verdict`, oneLine(`${verdict}; action=${action}; score=${report.score}`));
    if (signals.length) txn.add_header(`${prefix}-Signals`, foldList(`${prefix}-Signals`, signals.map(oneLine)));
  }
  switch (action) {
    case 'reject':
      return next(constants.deny, dsnOf(report.smtp_reply, '550 5.7.1 Backscatter refused'));
    case 'tempfail':
      return next(constants.denysoft, dsnOf(report.smtp_reply, '451 4.7.1 Try again later'));
    case 'quarantine':
      // Haraka's queue/quarantine plugin keeps it under quarantine_path/ndr/YYYYMMDD/ and accepts
      // it without delivery; without that plugin it is delivered with its headers.
      txn.notes.quarantine = 'ndr';
      txn.notes.quarantine_action = [constants.ok, 'Message accepted (held by the backscatter filter)'];
      return next();
    case 'drop':
      // queue/discard accepts it and delivers nothing; without that plugin it is delivered with its headers.
      txn.notes.discard = true;
      return next();
    default:
      return next();
  }
};

// For unit tests and other hosts: the pure parts.
exports.ndr_internals = { readSiteFile, parseReply, serviceSettings, prepare, envelopeOf, signalList, foldList, dsnOf, FailOpen };
