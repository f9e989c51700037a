// The browser demo in real headless Chromium (Debian's), driven by playwright-core: a bounce
// loaded from a file, a bundled sample, the BATV panel; and nothing leaves the page.
// A screenshot is written to js/test-output/demo.png for people to look at.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../demo/serve.mjs';
import { corpusDir, jsDir } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

test('the demo classifies a dropped bounce, a sample, and signs with BATV', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/js-deps.sh does)`);
  const server = await serve(0);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(async () => {
    await browser.close();
    server.close();
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const requests = [];
  page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));

  await page.goto(`${origin}/demo/`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.match(await page.textContent('#version'), /ABI 1\.\d+/);

  // A real Postfix bounce from the corpus, through the file input.
  await page.setInputFiles('#file', path.join(corpusDir, 'bounces', 'eml', 'lhost-postfix-01.eml'));
  await page.waitForSelector('#result:not([hidden])');
  assert.equal(await page.textContent('#kind'), 'bounce');
  const firstRow = await page.$$eval('#recipients tbody tr:first-child td', (tds) => tds.map((td) => td.textContent));
  assert.match(firstRow[0], /@/);
  assert.match(firstRow[1], /^5\.\d+\.\d+/);
  assert.ok(firstRow[3].length > 0);
  assert.match(firstRow[4], /^(hard|soft)$/);

  // A bundled sample: our own bounce, with the sample site configuration → legitimate.
  await page.selectOption('#samples', '01-dsn-user-unknown.eml');
  await page.waitForFunction(() => document.querySelector('#recipients td')?.textContent === 'nobody@example.org');
  const row = await page.$$eval('#recipients tbody tr:first-child td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(row.slice(0, 5), ['nobody@example.org', '5.1.1', '550', 'userunknown', 'hard']);
  assert.match(await page.textContent('#verdict'), /^legitimate/);
  const signals = await page.$$eval('#signals tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  assert.ok(signals.includes('original_via_our_relay'), `signals: ${signals}`);
  const original = await page.textContent('#original');
  assert.match(original, /c0ffee\.42@example\.com/);

  // The backscatter sample: not our relays, not our Message-ID → backscatter, quarantined (the
  // sample configuration has no BATV keys, so there is no strong evidence to reject on).
  await page.selectOption('#samples', '10-backscatter.eml');
  await page.waitForFunction(() => document.querySelector('#verdict').textContent.startsWith('backscatter'));
  assert.equal(await page.textContent('#action'), 'quarantine at data');
  const names = await page.$$eval('#signals tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(names.some((n) => n.startsWith('original_via_our_relaynone')), `signals: ${names}`);

  // BATV: sign, then verify what was signed.
  await page.fill('#batv-address', 'bob@example.com');
  await page.click('#batv-sign');
  const signed = await page.textContent('#batv-out');
  assert.match(signed, /^prvs=1\d{3}[0-9a-f]{6}=bob@example\.com$/);
  await page.click('#batv-verify');
  assert.equal(await page.textContent('#batv-out'), 'valid: bob@example.com');

  mkdirSync(path.join(jsDir, 'test-output'), { recursive: true });
  await page.selectOption('#samples', '02-dsn-two-recipients.eml');
  await page.screenshot({ path: path.join(jsDir, 'test-output', 'demo.png'), fullPage: true });

  assert.deepEqual(problems, []);
  // Nothing is uploaded: only GETs, only to the page's own server.
  const foreign = requests.filter((r) => !r.startsWith(`GET ${origin}/`));
  assert.deepEqual(foreign, []);
});
