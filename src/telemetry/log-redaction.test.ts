import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { generateKey } from '../domain/key-format.ts';
import { LOG_OPTIONS } from './log-redaction.ts';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJsb2dnZWQtaW4tYW4tZXJyb3IifQ.c2lnbmF0dXJlLW9mLWEtbG9nZ2VkLWp3dA';

/** The logger gatehouse.ts and the gateway workers make, writing here instead of stdout. */
function logger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'info', ...LOG_OPTIONS }, { write: (line: string) => void lines.push(line) }), lines };
}

test("secrets in a logged error's message, stack, cause and fields are replaced, by shape", () => {
  const { secret } = generateKey('api', 'live');
  const { log, lines } = logger();
  // What a library puts in an error: the URL or header it was given, quoted.
  const cause = new Error(`upstream said: invalid token ${JWT}`);
  const error = Object.assign(new TypeError(`Invalid URL: https://api.example/v1?api_key=${secret}`, { cause }), {
    input: `https://api.example/v1?api_key=${secret}`,
  });
  log.error({ err: error, requestId: 'r-1' }, 'the call failed');
  log.error(new Error(`header X-API-Key: ${secret} refused`), 'an error as the first argument');
  log.warn({ err: new AggregateError([new Error(`bad: ${secret}`)], 'several failed') }, 'aggregate');
  assert.equal(lines.length, 3);
  for (const line of lines) {
    assert.ok(!line.includes(secret), `a key in the log: ${line}`);
    assert.ok(!line.includes(JWT.split('.')[1]!), `a JWT in the log: ${line}`);
  }
  const first = JSON.parse(lines[0]!);
  assert.match(first.err.message, /^Invalid URL: https:\/\/api\.example\/v1\?api_key=\[Redacted\]/, 'the rest of the message is kept');
  assert.match(first.err.stack, /TypeError: Invalid URL/);
  assert.equal(first.err.type, 'TypeError');
  assert.equal(first.requestId, 'r-1');
});

test('secrets in a logged message, interpolated or not, and in other fields are replaced', () => {
  const { secret } = generateKey('admin', 'live');
  const { log, lines } = logger();
  log.info(`admin key ${secret} used`);
  log.info('fetching %s', `https://h.example/cb#access_token=${JWT}`);
  log.info({ url: `https://h.example/?k=${secret}`, nested: { header: `Bearer ${JWT}` } }, 'with fields');
  for (const line of lines) {
    assert.ok(!line.includes(secret), `a key in the log: ${line}`);
    assert.ok(!line.includes(JWT.split('.')[1]!), `a JWT in the log: ${line}`);
  }
  assert.equal(JSON.parse(lines[0]!).msg, 'admin key [Redacted] used');
  assert.equal(JSON.parse(lines[1]!).msg, 'fetching https://h.example/cb#access_token=[Redacted]');
});

test('a secret at the start of a line of a multi-line message or error is replaced before JSON escapes it', () => {
  const { log, lines } = logger();
  log.info(`first line\n${JWT}`);
  log.error({ err: new Error(`the response:\n${JWT}`) }, 'failed');
  for (const line of lines) assert.ok(!line.includes(JWT.split('.')[1]!), `a JWT in the log: ${line}`);
});

test('a secret at the start of a line in any other field is replaced in the finished line', () => {
  // An encrypted token (JWE): its parts after the header are not JSON, so none starts with eyJ.
  const jwe =
    'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ';
  const { secret } = generateKey('api', 'live');
  const cut = secret.slice(0, 28);
  const { log, lines } = logger();
  log.warn({ response: `HTTP/1.1 401\nWWW-Authenticate: x\n${jwe}`, body: `rejected:\n${cut}` }, 'upstream refused');
  assert.ok(!lines[0]!.includes(jwe.split('.')[4]!), `a JWE in the log: ${lines[0]}`);
  assert.ok(!lines[0]!.includes(cut.slice(8)), `a key in the log: ${lines[0]}`);
});

test('lines without secrets are written as they are', () => {
  const { log, lines } = logger();
  log.info({ path: '/gcs_upload', user: 'bigk_x' }, 'gk_live_3Fq9 rotated');
  assert.deepEqual(
    { ...JSON.parse(lines[0]!), time: 0, pid: 0, hostname: '' },
    { level: 30, time: 0, pid: 0, hostname: '', path: '/gcs_upload', user: 'bigk_x', msg: 'gk_live_3Fq9 rotated' },
  );
});

test('the field-name redaction still applies', () => {
  const { log, lines } = logger();
  log.info({ client: { secret: 's3cr3t', authorization: 'Basic eA==' } }, 'fields');
  assert.ok(!lines[0]!.includes('s3cr3t') && !lines[0]!.includes('Basic eA=='));
});
