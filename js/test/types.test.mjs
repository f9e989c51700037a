// The hand-written TypeScript declarations against the real objects: every field of every
// report of the corpus (and of the other answers) must be declared, with its type; no `any`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import * as ndr from '../index.mjs';
import { corpusDir, filesUnder, jsDir, siteConfig, sample, NOW } from './helpers.mjs';

const dtsPath = path.join(jsDir, 'index.d.ts');
const source = ts.createSourceFile(dtsPath, readFileSync(dtsPath, 'utf8'), ts.ScriptTarget.Latest, true);
const declared = new Map();
source.forEachChild((node) => {
  if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) declared.set(node.name.text, node);
});

/** Errors of `value` against a type node of the declarations, with the path where they are. */
function check(value, type, at, errors) {
  switch (type.kind) {
    case ts.SyntaxKind.StringKeyword:
      if (typeof value !== 'string') errors.push(`${at}: ${JSON.stringify(value)} is not a string`);
      return;
    case ts.SyntaxKind.NumberKeyword:
      if (typeof value !== 'number') errors.push(`${at}: ${JSON.stringify(value)} is not a number`);
      return;
    case ts.SyntaxKind.BooleanKeyword:
      if (typeof value !== 'boolean') errors.push(`${at}: ${JSON.stringify(value)} is not a boolean`);
      return;
    case ts.SyntaxKind.LiteralType: {
      const lit = type.literal;
      const expected = lit.kind === ts.SyntaxKind.NullKeyword ? null : lit.text;
      if (value !== expected) errors.push(`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(expected)}`);
      return;
    }
    case ts.SyntaxKind.ArrayType:
      if (!Array.isArray(value)) errors.push(`${at}: not an array`);
      else value.forEach((v, i) => check(v, type.elementType, `${at}[${i}]`, errors));
      return;
    case ts.SyntaxKind.UnionType: {
      for (const member of type.types) {
        const tried = [];
        check(value, member, at, tried);
        if (tried.length === 0) return;
      }
      errors.push(`${at}: ${JSON.stringify(value)?.slice(0, 80)} is none of ${type.getText()}`);
      return;
    }
    case ts.SyntaxKind.TypeLiteral:
      checkMembers(value, type.members, at, errors);
      return;
    case ts.SyntaxKind.TypeReference: {
      const decl = declared.get(type.typeName.getText());
      assert.ok(decl, `${type.typeName.getText()} is not declared`);
      if (ts.isInterfaceDeclaration(decl)) checkMembers(value, decl.members, at, errors);
      else check(value, decl.type, at, errors);
      return;
    }
    default:
      errors.push(`${at}: the checker does not know ${ts.SyntaxKind[type.kind]}`);
  }
}

function checkMembers(value, members, at, errors) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    errors.push(`${at}: ${JSON.stringify(value)?.slice(0, 80)} is not an object`);
    return;
  }
  const props = new Map(members.filter(ts.isPropertySignature).map((m) => [m.name.getText(), m]));
  for (const key of Object.keys(value)) {
    if (!props.has(key)) errors.push(`${at}.${key}: not declared`);
  }
  for (const [name, member] of props) {
    if (!(name in value)) {
      if (!member.questionToken) errors.push(`${at}.${name}: declared but missing`);
      continue;
    }
    check(value[name], member.type, `${at}.${name}`, errors);
  }
}

function assertType(value, typeName, label) {
  const errors = [];
  check(value, typeRef(typeName), label, errors);
  assert.deepEqual(errors.slice(0, 10), [], `${label} does not match ${typeName}`);
}

/** A reference to a declared type by name, as `check` reads one. */
function typeRef(name) {
  return { kind: ts.SyntaxKind.TypeReference, typeName: { getText: () => name } };
}

test('the declarations use no any or unknown', () => {
  const found = [];
  const walk = (node) => {
    if (node.kind === ts.SyntaxKind.AnyKeyword || node.kind === ts.SyntaxKind.UnknownKeyword) {
      found.push(node.parent.getText());
    }
    node.forEachChild(walk);
  };
  walk(source);
  assert.deepEqual(found, []);
});

test('the declarations compile under strict TypeScript, with a typed use of every function', () => {
  const usage = path.join(jsDir, 'test', 'fixtures', 'usage.ts');
  const program = ts.createProgram([usage], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, []);
});

test('every report of the corpus matches the Report declaration', () => {
  let checked = 0;
  const seen = { verdict: 0, original: 0, feedback: 0, rcpt: 0, smtp: 0 };
  for (const file of filesUnder(corpusDir)) {
    const r = ndr.classify(readFileSync(file), { config: siteConfig, now: NOW });
    assertType(r, 'Report', path.relative(corpusDir, file));
    checked++;
    if (r.verdict) seen.verdict++;
    if (r.original) seen.original++;
    if (r.feedback) seen.feedback++;
    if (r.smtp_reply) seen.smtp++;
  }
  // With an envelope, the recipient checks are filled in too.
  const signed = ndr.batvSign({ config: siteConfig, address: 'alice@example.com', now: NOW });
  for (const rcpt of [signed.address, 'prvs=1234abcdef=alice@example.com', 'SRS0=abcd=ZZ=example.org=x@fwd.example.net']) {
    const r = ndr.classify(sample('10-backscatter.eml'), {
      config: siteConfig,
      now: NOW,
      envelope: { mail_from: '', rcpt_to: [rcpt], client_ip: '192.0.2.1' },
    });
    assert.ok(r.rcpt_checks.length > 0);
    assertType(r, 'Report', rcpt);
    seen.rcpt++;
    if (r.smtp_reply) seen.smtp++;
  }
  assert.ok(checked > 2000);
  // Every optional object must have been seen filled in at least once, or the check is weak.
  for (const [k, n] of Object.entries(seen)) assert.ok(n > 0, `no report had ${k}`);
});

test('the other answers match their declarations', () => {
  const raw = sample('01-dsn-user-unknown.eml');
  const signed = ndr.batvSign({ config: siteConfig, address: 'alice@example.com', now: NOW });
  assertType(signed, 'BatvSigned', 'batvSign');
  assertType(ndr.batvSign({ config: siteConfig, address: '', now: NOW }), 'BatvSigned', 'batvSign(null sender)');
  for (const a of [signed.address, 'alice@example.com', 'prvs=9000000000=a@example.com', 'btv1==123==a@b.example']) {
    assertType(ndr.batvVerify({ config: siteConfig, address: a, now: NOW + 20 * 86400 }), 'BatvVerified', a);
  }
  const fwd = ndr.srsForward({ config: siteConfig, address: 'x@example.org', now: NOW });
  assert.deepEqual(Object.keys(fwd), ['address']);
  assertType(ndr.srsReverse({ config: siteConfig, address: fwd.address, now: NOW }), 'SrsReversed', 'srsReverse');
  assertType(ndr.srsReverse({ config: siteConfig, address: 'x@example.org', now: NOW }), 'SrsReversed', 'srsReverse');
  assertType(ndr.info(), 'Info', 'info');
  assertType(ndr.shouldBounce(raw, { envelope: { mail_from: 'a@example.org', rcpt_to: ['b@example.com'] } }),
    'ShouldBounceAnswer', 'shouldBounce');
  const dsn = ndr.buildDsn(raw, {
    envelope: { mail_from: 'a@example.org', rcpt_to: ['b@example.com'] },
    failure: { recipients: [{ address: 'b@example.com', status: '5.1.1' }], reporting_mta: 'mx.example.com' },
  });
  assertType(dsn, 'Dsn', 'buildDsn');
});

test('the checker itself rejects wrong objects', () => {
  const good = ndr.classify(sample('01-dsn-user-unknown.eml'), { now: NOW });
  for (const bad of [
    { ...good, extra: 1 },
    { ...good, kind: 'nonsense' },
    { ...good, recipients: [{ ...good.recipients[0], hard: 'yes' }] },
    (({ warnings, ...rest }) => rest)(good),
  ]) {
    const errors = [];
    check(bad, typeRef('Report'), 'bad', errors);
    assert.ok(errors.length > 0, 'a wrong report passed');
  }
});
