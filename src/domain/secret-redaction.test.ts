import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateKey, type KeyKind } from './key-format.ts';
import { holdsSecret, pathWithoutSecrets, withoutSecrets } from './secret-redaction.ts';

const R = '{secret}';
const KINDS: readonly KeyKind[] = ['api', 'publishable', 'admin', 'clientSecret'];
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

describe('the secret shape matches real secrets only', () => {
  test('words that merely contain gk_, gka_, gcs_ or eyJ are left as they are', () => {
    for (const text of [
      '/gcs_upload',
      '/storage/gcs_upload/v2/objects',
      'bigk_x',
      'bigka_thing',
      'mygcs_bucket',
      'gk_live',
      'gk_live_',
      // A key's non-secret start, as listings and reports show it.
      'gk_live_3Fq9',
      'gka_live_3Fq9…',
      'docs/gk_test_example.md',
      '/api/keyJsonSchemaVersion.json',
      '/music/heyJude.mp3',
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(pathWithoutSecrets(text, R), text, text);
    }
    assert.equal(pathWithoutSecrets('/gcs%5Fupload', R), '/gcs%5Fupload', 'an escaped word that is no secret stays as sent');
  });

  test('every kind of key and client secret, in both environments, is replaced wherever it stands', () => {
    for (const kind of KINDS) {
      for (const env of ['live', 'test'] as const) {
        const { secret } = generateKey(kind, env);
        for (const [text, expected] of [
          [secret, R],
          [`/orders/${secret}/x`, `/orders/${R}/x`],
          [`?key=${secret}&a=1`, `?key=${R}&a=1`],
          [`Bearer ${secret}`, `Bearer ${R}`],
          [`"${secret}"`, `"${R}"`],
          [`a_${secret}`, `a_${R}`],
          // Glued to other text: the checksum tells a key from a look-alike.
          [`token${secret}`, `token${R}`],
          [`key%3D${secret}`, `key%3D${R}`],
        ] as const) {
          assert.equal(withoutSecrets(text, R), expected, `${kind}/${env}: ${text.replace(secret, '<secret>')}`);
        }
        assert.equal(pathWithoutSecrets(`/x/${secret.replaceAll('_', '%5F')}/y`, R), `/x/${R}/y`, `${kind}/${env} percent-encoded`);
        assert.equal(pathWithoutSecrets(`/x/k%3D${secret.replaceAll('_', '%5f')}`, R), `/x/k%3D${R}`, `${kind}/${env} percent-encoded after an escape`);
      }
    }
  });

  test('a key with a mistyped checksum or a character lost is still hidden where it stands alone', () => {
    const { secret } = generateKey('api', 'live');
    const mistyped = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
    assert.equal(withoutSecrets(`/k/${mistyped}`, R), `/k/${R}`);
    assert.equal(withoutSecrets(`/k/${secret.slice(0, -3)}`, R), `/k/${R}`);
  });

  test('JWTs are replaced, as sent, glued after an escape, or percent-encoded', () => {
    assert.equal(withoutSecrets(JWT, R), R);
    assert.equal(withoutSecrets(`Bearer ${JWT}`, R), `Bearer ${R}`);
    assert.equal(withoutSecrets(`?id_token=${JWT}&x=1`, R), `?id_token=${R}&x=1`);
    assert.equal(withoutSecrets(`#access_token%3D${JWT}`, R), `#access_token%3D${R}`);
    assert.equal(pathWithoutSecrets(`/t/${JWT.replaceAll('.', '%2E')}`, R), `/t/${R}`);
  });

  test('a replacement function receives the whole secret', () => {
    const { secret } = generateKey('admin', 'live');
    const seen: string[] = [];
    withoutSecrets(`x ${secret} y`, (s) => (seen.push(s), R));
    assert.deepEqual(seen, [secret]);
  });
});

/** A JWE (RFC 7516 §7.1: five parts; only the header is JSON, so only it starts with eyJ), e.g. an encrypted access token. */
const JWE =
  'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ';

describe('a secret is hidden however little of it shows past what is public', () => {
  // A fixed random part: a cut key's characters decide nothing about its checksum.
  const RANDOM = '3Fq9Zb7TkQ2mXw8LpR4sVn1Y';
  test('a key of any kind cut anywhere past its 4 public characters is hidden where a word starts', () => {
    for (const prefix of ['gk', 'gk_pub', 'gka', 'gcs']) {
      for (let kept = 5; kept < 16; kept++) {
        const cut = `${prefix}_live_${RANDOM.slice(0, kept)}`;
        assert.equal(withoutSecrets(`/k/${cut}`, R), `/k/${R}`, cut);
        assert.equal(withoutSecrets(`key=${cut}…`, R), `key=${R}…`, cut);
      }
    }
  });

  test('a JWT or JWE glued to other text is hidden, whatever its payload', () => {
    const shortPayload = 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    for (const token of [JWE, shortPayload, JWT]) {
      for (const [text, expected] of [
        [`req_${token}`, `req_${R}`],
        [`Bearer${token}`, `Bearer${R}`],
        [`id_token${token}&x=1`, `id_token${R}&x=1`],
      ] as const) {
        assert.equal(withoutSecrets(text, R), expected, text);
        assert.equal(holdsSecret(text), true, text);
      }
    }
    // A look-alike glued to text is no JWT: its first part is no JOSE header.
    for (const text of ['/music/heyJude.mp3', 'xeyJ0aGlzIGlzIG5vIGpzb24.abc.def']) assert.equal(withoutSecrets(text, R), text, text);
    // ...nor does one swallow a real token after it.
    assert.equal(withoutSecrets(`xeyJ0aGlzIGlzIG5vIGpzb24.${JWT}`, R), `xeyJ0aGlzIGlzIG5vIGpzb24.${R}`);
  });

  test('a secret right after a JSON escape (a multi-line text in a log line) is hidden', () => {
    const cut = `gk_live_${RANDOM.slice(0, 20)}`;
    for (const secret of [cut, JWE]) {
      for (const text of [
        JSON.stringify({ detail: `line\n${secret}` }),
        JSON.stringify({ detail: `a\t${secret}` }),
        JSON.stringify({ d: `\u001b${secret}` }),
      ]) {
        assert.ok(!withoutSecrets(text, R).includes(secret.slice(8, 28)), text);
      }
    }
  });
});

// A run of `eyJ` look-alikes (a path or user agent anyone may send) once cost its length squared: every
// place a token could start scanned the run to its end. What keeps the rule linear is where it looks:
// where a run of base64url characters starts, or at most 64 characters into one. Its time is measured
// by bench/redaction-cost.ts (timing belongs to benchmarks, not tests).
test('a token is looked for where a run starts or at most 64 characters into it; past that, its signed parts are still hidden', () => {
  assert.equal(withoutSecrets('a'.repeat(64) + JWT, R), 'a'.repeat(64) + R);
  assert.equal(
    withoutSecrets('a'.repeat(65) + JWT, R),
    'a'.repeat(65) + JWT.slice(0, JWT.indexOf('.') + 1) + R,
    'the header (public) stays, the payload and signature go',
  );
  assert.equal(withoutSecrets(`trace-${JWT}`, R), `trace-${R}`, 'after "-" inside a run: found as glued, its JOSE header checked');
  assert.equal(withoutSecrets('x-eyJabcdefghijklmnop.qq', R), 'x-eyJabcdefghijklmnop.qq', 'no JOSE header: a look-alike');
});

test('holdsSecret: true for text with a key or JWT in it, false for look-alikes', () => {
  const { secret } = generateKey('api', 'test');
  for (const text of [secret, `trace-${secret}`, `req:${JWT}`, `x${secret}`]) assert.equal(holdsSecret(text), true, text);
  for (const text of ['trace-123', 'gk_live_3Fq9', '/gcs_upload', 'bigk_x', 'eyJ.a.b']) assert.equal(holdsSecret(text), false, text);
});

describe('credentials in URLs: the password of the userinfo and credential-named parameters', () => {
  test("a URL's password is replaced; its scheme, user, host and the rest stay", () => {
    for (const [text, expected] of [
      ['postgres://gatehouse:hunter2@db.internal:5432/gatehouse', `postgres://gatehouse:${R}@db.internal:5432/gatehouse`],
      ['redis://:hunter2@cache:6379/0', `redis://:${R}@cache:6379/0`],
      ['rediss://default:hunter2@cache.example:6380', `rediss://default:${R}@cache.example:6380`],
      ['https://otel:hunter2@collector/v1/traces', `https://otel:${R}@collector/v1/traces`],
      // As libraries quote them: inside a sentence, in quotes, in parentheses, at the end of a line.
      ['connect ECONNREFUSED (postgresql://gh:hunter2@10.0.0.5/gh) retrying', `connect ECONNREFUSED (postgresql://gh:${R}@10.0.0.5/gh) retrying`],
      ["cannot parse 'redis://u:hunter2@h:6379'", `cannot parse 'redis://u:${R}@h:6379'`],
      ['{"url":"redis://:hunter2@h:6379","user":"a@b.example"}', `{"url":"redis://:${R}@h:6379","user":"a@b.example"}`],
      // An `@` the password holds unencoded: the host starts after the last one, as URL parsers read it.
      ['postgres://gh:p@ss@db/gh', `postgres://gh:${R}@db/gh`],
      // Characters a URL may hold unencoded in its userinfo.
      ["https://u:a!$&'()*+,;=b@h/", `https://u:${R}@h/`],
      ['two: redis://:one@a and https://u:two@b/x', `two: redis://:${R}@a and https://u:${R}@b/x`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('credential-named query parameters keep their name, not their value', () => {
    for (const [text, expected] of [
      ['GET https://api.example/v1?api_key=abc123&page=2 failed', `GET https://api.example/v1?api_key=${R}&page=2 failed`],
      ['postgres://gh@db/gh?sslmode=require&password=hunter2', `postgres://gh@db/gh?sslmode=require&password=${R}`],
      ['/files/x.pdf?X-Amz-Credential=AKIA1&X-Amz-Signature=f00d&x=1', `/files/x.pdf?X-Amz-Credential=${R}&X-Amz-Signature=${R}&x=1`],
      ['https://blob.example/c/b?sv=2022&sig=Zm9vYmFy%3D', `https://blob.example/c/b?sv=2022&sig=${R}`],
      ['https://h.example/cb?accessToken=opaque-1&state=s', `https://h.example/cb?accessToken=${R}&state=s`],
      ['https://h.example/cb#access_token=opaque-2&expires_in=3600', `https://h.example/cb#access_token=${R}&expires_in=3600`],
      ['?token=abc', `?token=${R}`],
      ['fetch "https://x.example/?client_secret=s3cr3t" failed', `fetch "https://x.example/?client_secret=${R}" failed`],
      ['<a href="/x?a=1&amp;token=t0k">', `<a href="/x?a=1&amp;token=${R}">`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('ordinary URLs, addresses and text with colons and @ are left as they are', () => {
    for (const text of [
      'https://api.example.com:8443/v1/orders?page=2&sort=desc#top',
      'postgres://gatehouse@db.internal:5432/gatehouse?sslmode=verify-full&application_name=gh',
      'redis://cache:6379/0',
      'http://[::1]:8080/healthz',
      'mail ops@example.com or user@example.com',
      'mailto:user@example.com',
      'a:b@c',
      'user:pass@host',
      'at 12:30 @channel',
      'see https://example.com/path/user:x@y and https://example.com?q=a:b@c',
      'http://host:8080 user@example.com',
      '?keyword=search&monkey=1&tokens_left=',
      'https://h.example/?token=',
      'the key=value form and a password= in prose',
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(pathWithoutSecrets(text, R), text, text);
      assert.equal(holdsSecret(text), false, text);
    }
  });

  test('a replacement function receives the password or the value; a key there keeps its non-secret start', () => {
    const { secret } = generateKey('api', 'live');
    const seen: string[] = [];
    const start = (s: string) => (seen.push(s), s.startsWith('gk_') ? `${s.slice(0, 12)}…` : R);
    assert.equal(withoutSecrets(`https://u:hunter2@h/?key=${secret}&x=1`, start), `https://u:${R}@h/?key=${secret.slice(0, 12)}…&x=1`);
    assert.deepEqual(seen, ['hunter2', secret]);
  });

  test('a key or JWT in a parameter that is no credential is still replaced by its shape', () => {
    const { secret } = generateKey('api', 'live');
    assert.equal(withoutSecrets(`https://h/?q=${secret}&token=t`, R), `https://h/?q=${R}&token=${R}`);
    assert.equal(withoutSecrets(`https://u:p@h/${JWT}`, R), `https://u:${R}@h/${R}`);
  });
});

describe('a token as the user of a URL', () => {
  // GitHub, GitLab and Azure DevOps take a token as the user name, with no password or any; an API key is
  // sent as HTTP Basic's user with an empty password.
  const GHP = 'ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R';
  test('a user holding a token-shaped run (16+ letters and digits, both) is replaced, with or without a password', () => {
    for (const [text, expected] of [
      [`https://${GHP}@github.com/org/repo.git`, `https://${R}@github.com/org/repo.git`],
      [`git clone https://${GHP}:x-oauth-basic@github.com/org/repo`, `git clone https://${R}:${R}@github.com/org/repo`],
      ['https://glpat-Xy9Zk3Lm8Qw2Rt6Vp1Ns@gitlab.example/g/p.git', `https://${R}@gitlab.example/g/p.git`],
      ['curl https://sk_live_4eC39HqLyjWDarjtT1zdp7dc:@api.stripe.example/v1/charges', `curl https://${R}:@api.stripe.example/v1/charges`],
      ['https://3f5a9c0e7b1d2468ace013579bdf2468ace01357@git.example/r', `https://${R}@git.example/r`],
      // A token as the password stays handled as any password, whatever the user.
      ['https://x-access-token:ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com/o/r', `https://x-access-token:${R}@github.com/o/r`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('a replacement function receives the whole user', () => {
    const { secret } = generateKey('api', 'live');
    const seen: string[] = [];
    assert.equal(
      withoutSecrets(`https://${secret}@h.example/`, (s) => (seen.push(s), R)),
      `https://${R}@h.example/`,
    );
    assert.deepEqual(seen, [secret]);
  });

  test('a user that is a name, and addresses, stay', () => {
    for (const text of [
      'git@github.com:org/repo.git',
      'ssh://git@github.com/org/repo.git',
      'https://jdoe@bitbucket.org/team/repo.git',
      'https://contoso@dev.azure.com/contoso/project/_git/repo',
      'postgres://gatehouse_migrations_v2@db.internal/gatehouse',
      'amqp://ci-runner-01-production@mq.internal/vhost',
      'https://first.last%40example.com@host.example/',
      'mail build-2024-reports@example.com',
      'https://example.com/users/0123456789abcdef0123@x',
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(holdsSecret(text), false, text);
    }
  });
});

describe('credentials in key=value text: connection strings and settings as drivers quote them', () => {
  test('the value of a key naming a secret is replaced, quoted or not; the keys and other pairs stay', () => {
    for (const [text, expected] of [
      // libpq's keyword/value form, as pg and psql quote it in errors.
      ['host=db user=gh password=s3cret dbname=x', `host=db user=gh password=${R} dbname=x`],
      ["host=db password='quoted secret' dbname=x", `host=db password='${R}' dbname=x`],
      ["password='it\\'s' port=5432", `password='${R}' port=5432`],
      ['host=db sslpassword=keypass sslmode=verify-full', `host=db sslpassword=${R} sslmode=verify-full`],
      // ADO.NET and ODBC: `;`-separated, case-insensitive keys, values in double quotes when they hold a `;`.
      ['Password=abc;Server=x', `Password=${R};Server=x`],
      ['Server=x; User Id=sa; Pwd=abc;', `Server=x; User Id=sa; Pwd=${R};`],
      ['Server=x;Password="a;b";Database=y', `Server=x;Password="${R}";Database=y`],
      [
        'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9v+YmFy/YmF6==;EndpointSuffix=core',
        `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${R};EndpointSuffix=core`,
      ],
      // Settings and options as they are quoted back.
      ['spring.datasource.password=hunter2', `spring.datasource.password=${R}`],
      ['unknown option --db-password=hunter2', `unknown option --db-password=${R}`],
      ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG', `AWS_SECRET_ACCESS_KEY=${R}`],
      ['PlainLoginModule required username="alice" password="alice-secret";', `PlainLoginModule required username="alice" password="${R}";`],
      // In a log line (JSON), a quote is escaped: the replacement stays inside the string.
      [JSON.stringify({ msg: 'connect host=db password="p w" x' }), JSON.stringify({ msg: `connect host=db password="${R}" x` })],
      [JSON.stringify({ msg: 'line\npassword=s3cret' }), JSON.stringify({ msg: `line\npassword=${R}` })],
      ['postgres://gh@db/gh?sslpassword=keypass', `postgres://gh@db/gh?sslpassword=${R}`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('spaces around the = (libpq: "spaces around the equal sign are optional"; ADO.NET, ODBC) still hide the value', () => {
    for (const [text, expected] of [
      ['host=db user=gh password = s3cret dbname=x', `host=db user=gh password = ${R} dbname=x`],
      ['host=db password =s3cret', `host=db password =${R}`],
      ["host=db password = 'quoted secret' port=5432", `host=db password = '${R}' port=5432`],
      ['Server=x; User Id=sa; Password = abc; Database=y', `Server=x; User Id=sa; Password = ${R}; Database=y`],
      [JSON.stringify({ msg: 'connect host=db password = s3cret x' }), JSON.stringify({ msg: `connect host=db password = ${R} x` })],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
    // Prose and comparisons stay: a bare `password=` with text after a space, and `==`.
    for (const text of ['the key=value form and a password= in prose', 'if password == expected']) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(holdsSecret(text), false, text);
    }
  });

  test("a ';' inside a libpq value (which ends only at a space) hides the rest of it too; ADO.NET's ';' before the next pair ends it", () => {
    for (const [text, expected] of [
      ['host=db user=gh password=s3c;ret dbname=x', `host=db user=gh password=${R} dbname=x`],
      ['PGPASSWORD=a;b;c psql -h db', `PGPASSWORD=${R} psql -h db`],
      [JSON.stringify({ msg: 'connect host=db password=p4ss;w0rd port=5432' }), JSON.stringify({ msg: `connect host=db password=${R} port=5432` })],
      // ADO.NET and ODBC: the next pair, a space or the end after the ';' ends the value.
      ['Password=abc;Server=x', `Password=${R};Server=x`],
      ['Password=ab;c;User Id=sa;', `Password=${R};User Id=sa;`],
      ['Server=x; Pwd=abc; Database=y', `Server=x; Pwd=${R}; Database=y`],
      [JSON.stringify({ msg: 'Server=x;Pwd=abc;' }), JSON.stringify({ msg: `Server=x;Pwd=${R};` })],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('a bracket, comma or full stop closing the text after a pair stays; one inside the value is hidden with it', () => {
    for (const [text, expected] of [
      ['scripted/2.0 (token=abc123def)', `scripted/2.0 (token=${R})`],
      ['[password=hunter22], then', `[password=${R}], then`],
      ['connect failed: password=s3cret.', `connect failed: password=${R}.`],
      ['{secret=abc})', `{secret=${R}})`],
      ['password=p4ss)w0rd.', `password=${R}.`],
      ["password='a b)'.", `password='${R}'.`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
    }
  });

  test('a key or token of data (a cache, an idempotency or sort key, a page token) stays in free text; a credential key or token is hidden', () => {
    for (const text of ['cache_key=user:42 hit', 'idempotency_key=abc123def456', 'sortKey=createdAt', 'next_page_token=CiAKGjBpNDd2Nmp2Zml2cXRyZ']) {
      assert.equal(withoutSecrets(text, R), text, text);
    }
    for (const [text, expected] of [
      ['private_key=abc123', `private_key=${R}`],
      ['STRIPE_KEY=abc123', `STRIPE_KEY=${R}`],
      ['csrf_token=abc123', `csrf_token=${R}`],
      ['SharedAccessKey=abc123', `SharedAccessKey=${R}`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
    }
  });

  test('a parameter or pair that is no credential does not hide one its value holds', () => {
    for (const [text, expected] of [
      ['https://a.example/?next=https://u:hunter2@h/', `https://a.example/?next=https://u:${R}@h/`],
      ['https://a.example/?redirect=https://x.example/cb?token=abc&y=1', `https://a.example/?redirect=https://x.example/cb?token=${R}&y=1`],
      ['<a href="/x?a=1&amp;token=t0k">', `<a href="/x?a=1&amp;token=${R}">`],
      ['link=/cb?code=abc', `link=/cb?code=${R}`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('a replacement in a log line (JSON) stays inside the string it was found in, a quote left open too', () => {
    for (const line of [
      JSON.stringify({ msg: 'set password=', next: 'x' }),
      JSON.stringify({ a: "password='s3cret", b: "it's" }),
      JSON.stringify({ a: 'password="s3cret', b: 'x"' }),
    ]) {
      const out = withoutSecrets(line, R);
      assert.deepEqual(Object.keys(JSON.parse(out) as object), Object.keys(JSON.parse(line) as object), out);
      assert.ok(!out.includes('s3cret'), out);
    }
  });

  test('pairs whose key names no secret, or names one only in a URL, stay', () => {
    for (const text of [
      'host=db user=gh dbname=x sslmode=require',
      'the key=value form and a password= in prose',
      'cache miss key=user:42',
      'connect ECONNREFUSED 127.0.0.1:5432 code=ECONNREFUSED errno=-111 syscall=connect',
      'exit_code=1 status_code=503',
      'token_type=Bearer expires_in=3600 max_tokens=4096',
      'password_file=/run/secrets/db sslkey=/etc/ssl/client.key',
      'tests pass=12 fail=0',
      'Server=x;Database=y;Trusted_Connection=True',
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(holdsSecret(text), false, text);
    }
  });
});

describe('credentials in a URL percent-encoded inside another URL', () => {
  const GHP = 'ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R';
  test('a credential-named parameter and a userinfo, encoded once or more, are replaced', () => {
    for (const [text, expected] of [
      ['https://a.example/login?redirect=https%3A%2F%2Fx%3Fapi_key%3DSECRET', `https://a.example/login?redirect=https%3A%2F%2Fx%3Fapi_key%3D${R}`],
      [
        'https://a.example/login?redirect=https%3A%2F%2Fx.example%2Fcb%3Fpage%3D2%26access_token%3Dopaque-1%26sort%3Dasc&x=1',
        `https://a.example/login?redirect=https%3A%2F%2Fx.example%2Fcb%3Fpage%3D2%26access_token%3D${R}%26sort%3Dasc&x=1`,
      ],
      ['/sso?next=https%3a%2f%2fx%3ftoken%3dabc', `/sso?next=https%3a%2f%2fx%3ftoken%3d${R}`],
      // Encoded twice (a redirect inside a redirect): `%` is `%25`.
      [
        '/a?u=%2Fb%3Fv%3Dhttps%253A%252F%252Fx%253Fclient_secret%253Ds3cr3t%2526y%253D1',
        `/a?u=%2Fb%3Fv%3Dhttps%253A%252F%252Fx%253Fclient_secret%253D${R}%2526y%253D1`,
      ],
      ['/a?next=https%3A%2F%2Fuser%3Ahunter2%40db.example%2Fx', `/a?next=https%3A%2F%2Fuser%3A${R}%40db.example%2Fx`],
      [`/a?next=https%3A%2F%2F${GHP}%40github.com%2Fo%2Fr`, `/a?next=https%3A%2F%2F${R}%40github.com%2Fo%2Fr`],
      ['/a?u=x%3Dredis%253A%252F%252F%253Ahunter2%2540cache', `/a?u=x%3Dredis%253A%252F%252F%253A${R}%2540cache`],
      // A name encoded at its own level (`_` as `%5F`) is read decoded.
      ['/a?r=https%3A%2F%2Fx%3Fapi%255Fkey%3DSECRET', `/a?r=https%3A%2F%2Fx%3Fapi%255Fkey%3D${R}`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(pathWithoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('encoded URLs, parameters and addresses that hold no credential stay', () => {
    for (const text of [
      'https://a.example/login?redirect=https%3A%2F%2Fx.example%2Fcb%3Fpage%3D2%26sort%3Dasc',
      '/a?next=https%3A%2F%2Fjdoe%40bitbucket.org%2Fteam%2Frepo',
      '/a?email=ops%40example.com&q=a%3Db',
      '/a?r=https%253A%252F%252Fx%253Fkeyword%253Dsearch',
      '/search?q=token%3D',
      '/a?data=x%26page%3D2%23top',
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(pathWithoutSecrets(text, R), text, text);
      assert.equal(holdsSecret(text), false, text);
    }
  });
});

// A key upper-cased or mistyped is no working credential as it stands, but its checksum gives the key
// back offline: which of 2^(its letters) ways to case it, or of 30 * 61 one-character changes, is the key.
describe('a key that the checksum gives back: upper-cased, or glued with one character mistyped', () => {
  test('a key glued to other text with one character of its random part or checksum mistyped is hidden', () => {
    for (const kind of KINDS) {
      const { secret } = generateKey(kind, 'live');
      for (const at of [secret.length - 30, secret.length - 15, secret.length - 1]) {
        const typo = secret.slice(0, at) + (secret[at] === 'a' ? 'b' : 'a') + secret.slice(at + 1);
        assert.equal(withoutSecrets(`token${typo}&x=1`, R), `token${R}&x=1`, `${kind} mistyped at ${at}`);
        assert.equal(holdsSecret(`token${typo}`), true, `${kind} mistyped at ${at}`);
      }
    }
  });

  test('a key glued to other text with one character of its random part or checksum dropped or inserted is hidden', () => {
    for (const kind of KINDS) {
      const { secret } = generateKey(kind, 'live');
      for (const at of [secret.length - 30, secret.length - 15, secret.length - 1]) {
        for (const [slip, how] of [
          [secret.slice(0, at) + secret.slice(at + 1), 'dropped'],
          [secret.slice(0, at) + 'Q' + secret.slice(at), 'inserted'],
        ] as const) {
          assert.equal(withoutSecrets(`token${slip}&x=1`, R), `token${R}&x=1`, `${kind} ${how} at ${at}`);
          assert.equal(withoutSecrets(`token${slip}`, R), `token${R}`, `${kind} ${how} at ${at}, at the end`);
          assert.equal(holdsSecret(`token${slip}`), true, `${kind} ${how} at ${at}`);
        }
      }
      // Followed by more letters or digits: only the key goes.
      const dropped = secret.slice(0, -10) + secret.slice(-9);
      assert.equal(withoutSecrets(`token${dropped}ab`, R), `token${R}ab`, `${kind} dropped, then text`);
    }
  });

  test('an upper-cased key is hidden where a word starts', () => {
    for (const kind of KINDS) {
      const upper = generateKey(kind, 'test').secret.toUpperCase();
      for (const [text, expected] of [
        [`/k/${upper}`, `/k/${R}`],
        [`AUTHORIZATION: BEARER ${upper}`, `AUTHORIZATION: BEARER ${R}`],
      ] as const) {
        assert.equal(withoutSecrets(text, R), expected, text);
        assert.equal(holdsSecret(text), true, text);
      }
    }
  });

  test('upper-case names and glued look-alikes that no typo makes a key stay', () => {
    for (const text of [
      'GCS_TEST_BUCKET',
      'GK_LIVE_ENDPOINT_OVERRIDE',
      'GK_TEST_INTEGRATIONSETTINGS',
      'GKA_LIVE_V2',
      'mygk_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      'xgcs_test_0123456789abcdefghijABCDEFGHIJ',
      'xgcs_test_0123456789abcdefghijABCDEFGHI',
      'xgcs_test_0123456789abcdefghijABCDEFGHIJK',
      'xgk_live_0123456789abcdefghijklm00001Z',
      'xgk_live_0123456789abcdefghijklmno00001Z',
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(holdsSecret(text), false, text);
    }
  });
});

describe('credentials in name: value text: YAML and config dumps, dicts and JSON quoted in a message', () => {
  test('the value after a secret-naming key and a colon is replaced, quoted or not; the key stays', () => {
    for (const [text, expected] of [
      // YAML, as a config dump or a library's error quotes it; in a log line its lines are `\n` escapes.
      ['api_key: abc123def456', `api_key: ${R}`],
      ['password: s3cret', `password: ${R}`],
      ['PASSWORD: x', `PASSWORD: ${R}`],
      ['db:\n  host: db\n  password: changeme\n  port: 5432', `db:\n  host: db\n  password: ${R}\n  port: 5432`],
      [JSON.stringify({ msg: 'config:\npassword: changeme\nport: 5432' }), JSON.stringify({ msg: `config:\npassword: ${R}\nport: 5432` })],
      ["password: 'quoted secret'", `password: '${R}'`],
      // JSON, Python's and Node's object notation inside a message that is no JSON itself.
      ['login failed for {"username":"alice","password":"s3cret"}', `login failed for {"username":"alice","password":"${R}"}`],
      ['body {"password": "s3cret", "x": 1}', `body {"password": "${R}", "x": 1}`],
      ["kwargs={'password': 's3cret', 'host': 'db'}", `kwargs={'password': '${R}', 'host': 'db'}`],
      ["options { user: 'gh', password: 's3cret' }", `options { user: 'gh', password: '${R}' }`],
      [JSON.stringify({ msg: 'sent {"client_secret":"s3cret"}' }), JSON.stringify({ msg: `sent {"client_secret":"${R}"}` })],
      ['AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG', `AWS_SECRET_ACCESS_KEY: ${R}`],
      ['refresh_token: 8xLOxBtZp8', `refresh_token: ${R}`],
      ['token: 0a1b2c3d4e5f', `token: ${R}`],
      // A value with a digit or sign is no prose, whatever follows it.
      ['password: hunter2 was rejected', `password: ${R} was rejected`],
      // A URL after the colon keeps all but its password, as anywhere.
      ['a URL that includes credentials: https://u:hunter2@h.example/x', `a URL that includes credentials: https://u:${R}@h.example/x`],
      ['secret: redis://:hunter2@cache:6379', `secret: redis://:${R}@cache:6379`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('a log line whose own field names a secret stays JSON: its quoted value is replaced inside the quotes, a bare one is kept', () => {
    const line = JSON.stringify({ level: 30, api_key: 'abc123', otp: 123456, msg: 'x' });
    const out = withoutSecrets(line, '[Redacted]');
    assert.deepEqual(JSON.parse(out), { level: 30, api_key: '[Redacted]', otp: 123456, msg: 'x' });
  });

  test('prose with a colon after such a word, and names that are no secret, stay', () => {
    for (const text of [
      'error: connection refused',
      'token: expired',
      'Token: invalid',
      'refresh token: not found',
      'password: must be at least 12 characters',
      'password: required',
      'PASSWORD: REQUIRED',
      'secret: none',
      'api_key: missing, see docs',
      'token_type: Bearer',
      'cache_key: user:42',
      'key: user:42',
      'max_tokens: 4096',
      'std::string Token::value() const',
      '{"msg":"set password:","next":"x"}',
      'password_file: /run/secrets/db',
      'invalid credentials: user not found',
      // Gatehouse's own configuration errors (src/config/schema.ts), as the CLI prints them.
      'store.url: must not hold the password: put it in store.passwordFile or GATEHOUSE_STORE_PASSWORD',
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(holdsSecret(text), false, text);
    }
  });
});

describe('an Authorization header quoted in free text', () => {
  test('the credential after the scheme is replaced, the header name and scheme stay', () => {
    for (const [text, expected] of [
      ['authorization=Bearer opaque-4f9a8b7c', `authorization=Bearer ${R}`],
      ['Authorization: Bearer opaque-4f9a8b7c', `Authorization: Bearer ${R}`],
      ['Authorization: Basic dXNlcjpwYXNz', `Authorization: Basic ${R}`],
      ['Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==', `Proxy-Authorization: Basic ${R}`],
      ['headers: { authorization: "Bearer s3cret-t0ken" }', `headers: { authorization: "Bearer ${R}" }`],
      ["{'Authorization': 'Token abc'}", `{'Authorization': 'Token ${R}'}`],
      ['curl -H "Authorization: Bearer s3cret-t0ken" https://api.example/', `curl -H "Authorization: Bearer ${R}" https://api.example/`],
      [JSON.stringify({ msg: 'sent Authorization: Basic dXNlcjpwYXNz' }), JSON.stringify({ msg: `sent Authorization: Basic ${R}` })],
      [JSON.stringify({ headers: { authorization: 'Bearer s3cret' } }), JSON.stringify({ headers: { authorization: `Bearer ${R}` } })],
      // No scheme: the whole value is the credential.
      ['Authorization: 4f9a8b7c6d5e', `Authorization: ${R}`],
      // After a parameter separator: a scheme then a space is a header's value, not a parameter's.
      ['cookie a=1;authorization=Bearer opaque-4f9a8b7c', `cookie a=1;authorization=Bearer ${R}`],
      ['/x?authorization=Bearer%20opaque-4f9a8b7c&y=1', `/x?authorization=${R}&y=1`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('prose about authorization, and a scheme with no credential after it, stay', () => {
    for (const text of [
      'authorization failed',
      'Authorization: denied',
      'authorization: required',
      'missing Authorization: Bearer',
      'Authorization: Bearer token missing',
      'Authorization: Digest username="jdoe", realm="api"',
      'Authorization: Bearer\nnext',
      'token_type=Bearer',
      'use the Authorization header',
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(holdsSecret(text), false, text);
    }
  });
});

describe('a pair whose value starts with <, > or a backtick', () => {
  test('the value is hidden; the brackets, backticks and hash rocket stay', () => {
    for (const [text, expected] of [
      ['host=db password=<abc123> dbname=x', `host=db password=<${R}> dbname=x`],
      ['password=`s3cret` in the shell', `password=\`${R}\` in the shell`],
      ['set password=>s3cret', `set password=>${R}`],
      ['password=<s3cret', `password=<${R}`],
      ['api_key: `abc123`', `api_key: \`${R}\``],
      // Ruby's and PHP's hash rocket.
      ['{"password"=>"s3cret", "user"=>"a"}', `{"password"=>"${R}", "user"=>"a"}`],
      ["['password' => 's3cret']", `['password' => '${R}']`],
      [JSON.stringify({ msg: 'connect password=<s3cret> x' }), JSON.stringify({ msg: `connect password=<${R}> x` })],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('markup, comparisons and placeholders around such names stay', () => {
    for (const text of [
      // Gatehouse's own help (src/gateway/stages/credential.ts): a placeholder's name is no secret.
      'send the API key as Authorization: Bearer <key> or X-API-Key: <key>',
      'password=<password> token: <nil>',
      '<input name="password"> <label>password</label>',
      'if password => x',
      'password=> in prose',
      '<a href="/x?token=">',
      'token: <',
      'password=``',
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
    }
  });
});

describe('a token of hex groups (a UUID) as the user of a URL', () => {
  const UUID = '3f2b9c1e-7a4d-4e8b-9f0a-1c2d3e4f5a6b';
  test('is replaced, plain or encoded in another URL, with or without a password', () => {
    for (const [text, expected] of [
      [`https://${UUID}@api.example/v1`, `https://${R}@api.example/v1`],
      [`https://${UUID.toUpperCase()}:@api.example/v1`, `https://${R}:@api.example/v1`],
      [`git clone https://${UUID}:x-oauth-basic@git.example/o/r`, `git clone https://${R}:${R}@git.example/o/r`],
      [`/a?next=https%3A%2F%2F${UUID}%40api.example%2Fx`, `/a?next=https%3A%2F%2F${R}%40api.example%2Fx`],
      // 32 or more hex digits in groups of another size (a key split for reading).
      ['https://3f2b9c1e7a4d-4e8b9f0a1c2d-3e4f5a6b@h.example/', `https://${R}@h.example/`],
    ] as const) {
      assert.equal(withoutSecrets(text, R), expected, text);
      assert.equal(holdsSecret(text), true, text);
    }
  });

  test('names split by hyphens, and shorter hex groups, stay', () => {
    for (const text of [
      'amqp://ci-runner-01-production@mq.internal/vhost',
      'https://deadbeef-cafe@h.example/',
      'https://build-2024-12-08-a1b2c3d4@h.example/',
      'mail 3f2b9c1e-7a4d@example.com',
      `see ${UUID} at h.example`,
      `https://h.example/users/${UUID}@x`,
    ]) {
      assert.equal(withoutSecrets(text, R), text, text);
      assert.equal(holdsSecret(text), false, text);
    }
  });
});
