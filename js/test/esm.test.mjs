// The API from an ES module: the same functions and answers as from CommonJS.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as esm from '../index.mjs';
import esmDefault from '../index.mjs';
import { sample, NOW } from './helpers.mjs';

const cjs = createRequire(import.meta.url)('..');

test('named and default ES exports are the CommonJS API', () => {
  for (const name of Object.keys(cjs)) {
    assert.ok(name in esm, `${name} is not a named export`);
    assert.strictEqual(esm[name], cjs[name]);
    assert.strictEqual(esmDefault[name], cjs[name]);
  }
  assert.equal(esm.version, cjs.version);
});

test('the package resolves by name for import and require', async () => {
  const byName = await import('ndr-filter');
  assert.strictEqual(byName.classify, cjs.classify);
  const raw = sample('01-dsn-user-unknown.eml');
  assert.equal(byName.classify(raw, { now: NOW }).kind, 'bounce');
});
