// The demo page: every call runs in this page through the package's browser build.
import { classify, batvSign, batvVerify, version, packageVersion } from '../browser.mjs';

const $ = (id) => document.getElementById(id);
let samples = { config: {}, messages: [] };
let rawBytes = null; // the dropped or chosen file, byte for byte; null = use the text area

$('version').textContent = `Module ${packageVersion}, ABI ${version}.`;

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? '—';
  if (className) td.className = className;
  return td;
}

function fill(tableId, rows, columns) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const [get, className] of columns) cell(tr, get(r), typeof className === 'function' ? className(r) : className);
  }
  if (rows.length === 0) cell(body.insertRow(), '(none)').colSpan = columns.length;
}

function options() {
  const opts = {};
  const configText = $('config').value.trim();
  if (configText) opts.config = JSON.parse(configText);
  const mailFrom = $('mail-from').value.trim();
  const rcpt = $('rcpt-to').value.split(/[\s,]+/).filter(Boolean);
  if (mailFrom || rcpt.length) opts.envelope = { mail_from: mailFrom.replace(/^<|>$/g, ''), rcpt_to: rcpt };
  const now = $('now').value.trim();
  if (now) opts.now = Number(now);
  return opts;
}

function show(report) {
  $('result').hidden = false;
  $('kind').textContent = report.kind;
  $('format').textContent = report.format ?? '—';
  $('verdict').textContent = report.verdict ? `${report.verdict} (score ${report.score})` : '—';
  $('verdict').className = report.verdict ? `verdict-${report.verdict}` : '';
  const reply = report.smtp_reply ? ` with "${report.smtp_reply.code} ${report.smtp_reply.status} ${report.smtp_reply.text}"` : '';
  $('action').textContent = report.action ? `${report.action} at ${report.stage}${reply}` : '—';
  fill('recipients', report.recipients, [
    [(r) => r.address],
    [(r) => (r.status ? r.status + (r.pseudo_status ? ' (inferred)' : '') : null)],
    [(r) => r.reply_code],
    [(r) => r.reason],
    [(r) => (r.hard ? 'hard' : 'soft')],
    [(r) => r.diagnostic, 'diag'],
  ]);
  fill('signals', report.signals, [
    [(s) => s.name],
    [(s) => s.value],
    [(s) => String(s.weight), (s) => (s.weight > 0 ? 'pos' : s.weight < 0 ? 'neg' : '')],
    [(s) => String(s.spam)],
  ]);
  const o = report.original;
  const headers = o
    ? [
        ['Found as', `${o.source}${o.headers_only ? ' (headers only)' : ''}`],
        ['Message-ID', o.message_id],
        ['From', o.from],
        ['To', o.to.join(', ')],
        ['Subject', o.subject],
        ['Date', o.date],
        ['Return-Path', o.return_path],
        ...o.received.map((h, i) => [`Received ${i + 1}`, `from ${h.from_host ?? '?'} [${h.ip ?? '?'}] by ${h.by_host ?? '?'}`]),
      ]
    : [];
  fill('original', headers, [[(h) => h[0]], [(h) => h[1], 'diag']]);
  $('json').textContent = JSON.stringify(report, null, 2);
}

function run() {
  $('error').textContent = '';
  try {
    const raw = rawBytes ?? $('raw').value;
    if (!raw.length) throw new Error('No message: drop, choose, paste or pick one.');
    show(classify(raw, options()));
  } catch (e) {
    $('error').textContent = e.code ? `${e.code}: ${e.message}` : e.message;
  }
}

async function load(file) {
  rawBytes = new Uint8Array(await file.arrayBuffer());
  $('raw').value = new TextDecoder().decode(rawBytes);
  run();
}

$('classify').addEventListener('click', run);
$('raw').addEventListener('input', () => { rawBytes = null; });
$('file').addEventListener('change', (e) => e.target.files[0] && load(e.target.files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer.files[0]) load(e.dataTransfer.files[0]);
});
$('samples').addEventListener('change', (e) => {
  const m = samples.messages.find((s) => s.name === e.target.value);
  if (!m) return;
  rawBytes = null;
  $('raw').value = m.text;
  run();
});

function batvConfig() {
  const digit = Number($('batv-digit').value);
  return { batv: { keys: [{ digit, secret: $('batv-key').value }] } };
}
function batv(fn) {
  try {
    const answer = fn({ config: batvConfig(), address: $('batv-address').value.trim() });
    $('batv-out').textContent = 'signed' in answer
      ? (answer.signed ? answer.address : `${answer.address} (unchanged: ${answer.skipped})`)
      : `${answer.result}: ${answer.address}${answer.days_past != null ? `, expired ${answer.days_past} days ago` : ''}`;
    if ('signed' in answer && answer.signed) $('batv-address').value = answer.address;
  } catch (e) {
    $('batv-out').textContent = `${e.code}: ${e.message}`;
  }
}
$('batv-sign').addEventListener('click', () => batv(batvSign));
$('batv-verify').addEventListener('click', () => batv(batvVerify));

// The bundled samples and their site configuration (built by scripts/build-js.sh).
fetch('../dist/samples.json')
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`samples: HTTP ${r.status}`))))
  .then((s) => {
    samples = s;
    $('config').value = JSON.stringify(s.config, null, 2);
    for (const m of s.messages) $('samples').add(new Option(m.name, m.name));
    document.body.dataset.ready = 'true';
  })
  .catch((e) => {
    $('error').textContent = e.message;
    document.body.dataset.ready = 'true';
  });
