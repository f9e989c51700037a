// ABI 1.4 facts (a host's sent-mail registry and report-source history) give the same verdict in
// the plain JavaScript host of the ABI module as in `ndr scan --facts` (the wasmtime host).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NdrFilter } from '../abi/host.mjs';
import { abiModuleBytes } from './abi-fixtures.mjs';
import { ndrJson } from './helpers.mjs';

const BOUNCE = [
  'From: MAILER-DAEMON@mx.remote.example', 'To: alice@example.com', 'Subject: failure',
  'Content-Type: multipart/report; report-type=delivery-status; boundary=b', '',
  '--b', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.remote.example', '',
  'Final-Recipient: rfc822; bob@remote.example', 'Action: failed', 'Status: 5.1.1', '',
  '--b', 'Content-Type: text/rfc822-headers', '', 'Message-ID: <x1@app.example.net>', 'From: alice@example.com', '',
  '--b--', '',
].join('\r\n');
const CONFIG = { site: { domains: ['example.com'] } };
const ENVELOPE = { mail_from: '', rcpt_to: ['alice@example.com'] };
const NOW = 1795521600;

test('the same facts give the same verdict in JavaScript and in ndr scan --facts', () => {
  const filter = new NdrFilter(new WebAssembly.Module(abiModuleBytes()));
  const dir = mkdtempSync(path.join(tmpdir(), 'ndr-facts-'));
  try {
    const eml = path.join(dir, 'bounce.eml');
    const config = path.join(dir, 'site.json');
    writeFileSync(eml, BOUNCE);
    writeFileSync(config, JSON.stringify(CONFIG));
    const cases = [
      [null, 'unknown'],
      [{ sent_registry: true }, 'legitimate'],
      [{ sent_registry: false }, 'unknown'],
      [{ source_reputation: { backscatter: 40, legitimate: 1 } }, 'unknown'],
    ];
    for (const [facts, verdict] of cases) {
      const request = { config: CONFIG, envelope: ENVELOPE, now: NOW, ...(facts ? { facts } : {}) };
      const js = filter.classify(Buffer.from(BOUNCE), request);
      const args = ['scan', '--json', '--config', config, '--now', String(NOW), '--mail-from', '', '--rcpt', 'alice@example.com'];
      if (facts) {
        const f = path.join(dir, 'facts.json');
        writeFileSync(f, JSON.stringify(facts));
        args.push('--facts', f);
      }
      const [cli] = ndrJson([...args, eml]);
      assert.equal(js.verdict, verdict, JSON.stringify(facts));
      assert.deepEqual(
        [cli.verdict, cli.action, cli.score, cli.signals],
        [js.verdict, js.action, js.score, js.signals],
        JSON.stringify(facts),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
