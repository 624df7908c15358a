import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { BASE62 } from '../src/domain/base62.ts';
import { generateKey } from '../src/domain/key-format.ts';
import { seed, startHarness, type Harness, type Seeded } from './support/harness.ts';

/** A signing key as GitHub has one: an EC P-256 pair and the identifier its reports name. */
function signer(identifier: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { identifier, privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

const trusted = signer('a'.repeat(64));
const stranger = signer('b'.repeat(64));

/** ECDSA P-256 over SHA-256 of the raw body, DER, base64: as GitHub signs a partner report. */
const signature = (body: string, key: KeyObject) => sign('sha256', Buffer.from(body), { key, dsaEncoding: 'der' }).toString('base64');

/** The same shape with one character of the random part changed: its checksum fails. */
function lookAlike(secret: string): string {
  const i = secret.length - 10;
  return secret.slice(0, i) + BASE62[(BASE62.indexOf(secret[i]!) + 1) % 62]! + secret.slice(i + 1);
}

/** A problem's stable code. */
const codeOf = async (res: Response) => ((await res.json()) as { code: string }).code;

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

describe('the GitHub secret-scanning receiver', () => {
  let h: Harness;
  let ids: Seeded;
  const url = () => `${h.gh.controlUrl}/secret-scanning/github`;
  const post = (body: string, headers: Record<string, string>) =>
    fetch(url(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const signed = (body: string, by = trusted, identifier = by.identifier) =>
    post(body, { 'Github-Public-Key-Identifier': identifier, 'Github-Public-Key-Signature': signature(body, by.privateKey) });
  const exposedEvents = async () => (await h.gh.ctx.store.events.after(0, 1000)).filter((e) => e.type === 'key.exposed');

  before(async () => {
    const yaml = [
      'secretScanning:',
      '  github:',
      '    maxTokens: 5',
      '    maxBodyBytes: 4096',
      '    publicKeys:',
      `      - identifier: "${trusted.identifier}"`,
      '        pem: |',
      ...trusted.pem
        .trim()
        .split('\n')
        .map((l) => `          ${l}`),
    ].join('\n');
    h = await startHarness({}, undefined, yaml);
    ids = await seed(h);
  });
  after(() => h.close());

  test('refuses reports that are unsigned, signed by an unknown key, badly signed or tampered with, and changes nothing', async () => {
    const body = JSON.stringify([{ token: ids.secret, type: 'gatehouse_api_key', url: 'https://github.com/o/r/blob/1/a', source: 'content' }]);
    const unsigned = await post(body, {});
    assert.equal(unsigned.status, 401);
    assert.equal(await codeOf(unsigned), 'SIGNATURE_MISSING');

    const unknownKey = await signed(body, stranger);
    assert.equal(unknownKey.status, 403);
    assert.equal(await codeOf(unknownKey), 'SIGNATURE_INVALID');

    const wrongKey = await signed(body, stranger, trusted.identifier);
    assert.equal(wrongKey.status, 403);
    assert.equal(await codeOf(wrongKey), 'SIGNATURE_INVALID');

    const tampered = body.replace('content', 'commit');
    const res = await post(tampered, {
      'Github-Public-Key-Identifier': trusted.identifier,
      'Github-Public-Key-Signature': signature(body, trusted.privateKey),
    });
    assert.equal(res.status, 403);
    const problem = await res.text();
    assert.equal((JSON.parse(problem) as { code: string }).code, 'SIGNATURE_INVALID');
    assert.ok(!problem.includes(ids.secret), 'the answer never echoes a token');

    assert.equal((await h.admin('GET', `/keys/${ids.keyId}`)).body.exposedAt, null, 'the key is not marked exposed');
    assert.deepEqual(await exposedEvents(), []);
  });

  test('a signed report marks our key exposed, announces key.exposed, and answers a verdict per token', async () => {
    const unknown = generateKey('api', 'live').secret;
    const fake = lookAlike(ids.secret);
    const where = 'https://github.com/octo/app/blob/0123abc/config.yml';
    const body = JSON.stringify([
      { token: ids.secret, type: 'gatehouse_api_key', url: where, source: 'content' },
      { token: fake, type: 'gatehouse_api_key', url: where, source: 'content' },
      { token: unknown, type: 'gatehouse_api_key', url: '', source: 'commit' },
    ]);
    // Counts the store's lookups by hash, to show the look-alike never reaches one.
    const keys = h.gh.ctx.store.keys;
    const findByHash = keys.findByHash.bind(keys);
    let lookups = 0;
    keys.findByHash = (hash) => (lookups++, findByHash(hash));
    let res: Response;
    try {
      res = await signed(body);
    } finally {
      keys.findByHash = findByHash;
    }
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [
      { token_hash: sha256(ids.secret), token_type: 'gatehouse_api_key', label: 'true_positive' },
      { token_hash: sha256(fake), token_type: 'gatehouse_api_key', label: 'false_positive' },
      { token_hash: sha256(unknown), token_type: 'gatehouse_api_key', label: 'false_positive' },
    ]);
    assert.equal(lookups, 2, 'our key and the unknown well-formed one are looked up (one pepper); the look-alike is not');

    const key = (await h.admin('GET', `/keys/${ids.keyId}`)).body;
    assert.equal(typeof key.exposedAt, 'string');
    const events = await exposedEvents();
    assert.equal(events.length, 1);
    assert.equal((events[0]!.data.key as { id: string }).id, ids.keyId);
    const exposure = events[0]!.data.exposure as { source: string; where: string; at: string; action: string };
    assert.deepEqual([exposure.source, exposure.where, exposure.at], ['secret-scanning', where, key.exposedAt]);
    assert.equal(exposure.action, 'disable', "the exposure policy's default for a live key applies");
    assert.equal(key.enabled, false);
    const audit = (await h.admin('GET', `/audit?targetId=${ids.keyId}&action=key.exposed`)).body.items;
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor, 'secret-scanning:github');
    assert.ok(!JSON.stringify(audit).includes(ids.secret), 'the audit log never holds the token');
  });

  test('a report sent again (a retry or a replay of the signed bytes) answers the same verdicts and audits and announces nothing more', async () => {
    const made = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const body = JSON.stringify([{ token: made.body.secret, type: 'gatehouse_api_key', url: 'https://github.com/octo/replay/blob/1/a', source: 'content' }]);
    const exposuresOf = async () => (await exposedEvents()).filter((e) => (e.data.key as { id: string }).id === made.body.id);
    const first = await signed(body);
    assert.equal(first.status, 200);
    const verdicts = await first.json();
    const replayed = await signed(body);
    assert.equal(replayed.status, 200);
    assert.deepEqual(await replayed.json(), verdicts);
    assert.equal((await exposuresOf()).length, 1, 'one key.exposed event for one report');
    const audit = (await h.admin('GET', `/audit?targetId=${made.body.id}&action=key.exposed`)).body.items;
    assert.equal(audit.length, 1, 'one audit entry for one report');

    // A new report of the same key (another place it was found) is news, and is recorded.
    const elsewhere = body.replace('octo/replay', 'octo/other');
    assert.equal((await signed(elsewhere)).status, 200);
    assert.equal((await exposuresOf()).length, 2);
  });

  test('reports over the size or token bound, or not in the report format, are refused', async () => {
    const many = JSON.stringify(Array.from({ length: 6 }, () => ({ token: 'x', type: 't', url: '', source: 'content' })));
    const tooMany = await signed(many);
    assert.equal(tooMany.status, 413);
    assert.equal(await codeOf(tooMany), 'BODY_TOO_LARGE');

    const large = JSON.stringify([{ token: 'x'.repeat(1000), type: 't', url: 'u'.repeat(4000), source: 'content' }]);
    const tooLarge = await signed(large);
    assert.equal(tooLarge.status, 413);

    const notAReport = await signed(JSON.stringify({ token: ids.secret }));
    assert.equal(notAReport.status, 400);
    assert.equal(await codeOf(notAReport), 'VALIDATION_FAILED');
  });
});
