import { CHECKSUM_LENGTH, isKeyOffByOneCharacter, isMistypedKey, isWellFormedKey, KEY_PREFIXES, RANDOM_LENGTH, type KeyKind } from './key-format.ts';

/**
 * Secrets recognisable by their shape, wherever they sit (a path segment, a parameter name or value,
 * a user agent, a log line): our API, publishable and admin keys and client secrets, and JWTs. One
 * rule for everything Gatehouse records about a request (the request log, trace spans, the log) or
 * quotes of it in an answer (the admin and portal APIs' 404s), so a secret one of them hides is never
 * left in another.
 *
 * Only the real shapes (key-format.ts: `<gk|gk_pub|gka|gcs>_<live|test>_` and 30 base62 characters;
 * a JWS header, RFC 7515 §4.1.1, which names at least `alg`: 15 or more base64url characters from
 * `eyJ`), so words that merely hold `gk_` or `eyJ` (`/gcs_upload`, `bigk_x`, `heyJude.mp3`) stay.
 * - At the start of a word (or right after a `%XX` escape, `key%3Dgk_live_...`, or a JSON string's
 *   escape, `\n`, as a multi-line text stands in a log line): a key with more characters after its
 *   environment than the 4 its non-secret start shows, so one mistyped or cut short is still hidden:
 *   every character past those 4 is secret. Fewer than 16 count only with a capital or a digit among
 *   them, which a run of random base62 lacks rarely ((26/62)^5 ≈ 1%), so `gk_test_example` stays.
 * - Glued to other text (`tokengk_live_...`): only a well-formed key, its checksum holding, or one
 *   character off one (key-format.ts, isMistypedKey): the checksum tells which change gives the key; or
 *   one with a character dropped or inserted (isKeyOffByOneCharacter), where it ends is unknown, so 29, 30
 *   and 31 characters are tried (gluedKeyAt).
 * - Upper-cased (`GK_LIVE_...`, a text shouted by some log or terminal), where a word starts: 16 or more
 *   capitals and digits, a digit among them. It is no working key as it stands, but the checksum picks
 *   the key out of the 2^(its letters) ways to case it, offline in a second; names (`GCS_TEST_BUCKET`,
 *   `GK_LIVE_ENDPOINT_OVERRIDE`) are shorter words split by `_`, or have no digit.
 * - A JWT or JWE glued to other text (`req_eyJ...`): only when its first part decodes to a JOSE header
 *   naming `alg` (RFC 7515 §4.1.1, RFC 7516 §4.1.1); a JWE's later parts are not JSON, and a JWS's
 *   payload need not be long (`e30`), so without this nothing of either would be hidden.
 *
 * Beside those, the credentials other software puts in URLs (URL_CREDENTIAL below): a URL's password,
 * the value of a credential-named parameter. A library quotes them in its errors as readily as ours.
 */
const KEY_PREFIX = '(?:gk_pub|gka|gcs|gk)_(?:live|test)_';
const UPPER_KEY_PREFIX = '(?:GK_PUB|GKA|GCS|GK)_(?:LIVE|TEST)_';
// A JSON escape (`\n`, `\u001b`) ends a line or word as much as the character it stands for: the log's
// finished line (log-redaction.ts) has every other field's text escaped so.
const AFTER_ESCAPE = '(?<=%[0-9A-Fa-f]{2})|(?<=\\\\[bfnrt])|(?<=\\\\u[0-9A-Fa-f]{4})';
const WORD_START = `(?:(?<![A-Za-z0-9_])|${AFTER_ESCAPE})`;
/** Of a key's 30 characters after its environment, how many at least make a secret where a word starts, whatever they are. */
const MIN_AT_WORD_START = 16;
/** More than a key's non-secret start (key-format.ts: 4 characters) shows: secret, given a capital or digit. */
const MIN_CUT = 5;
const JWT_PARTS = '(?:\\.[A-Za-z0-9_-]*){1,4}';
/**
 * Where a JWT's run of base64url characters starts. Never inside a run (after `-` either): each place a
 * JWT may start scans its run to the end, so a run of `-eyJ` or `eyJ` repeated (a path or user agent
 * anyone sends) would cost its length squared.
 */
const RUN_START = '(?<![A-Za-z0-9_-])';
/** How much text a JWT glued to it may follow within one run (`req_`, `Bearer`, `id_token`): a bound keeps the cost linear. */
const MAX_GLUE = 64;
const SECRET_SHAPE = new RegExp(
  [
    `${WORD_START}${KEY_PREFIX}(?:[A-Za-z0-9]{${MIN_AT_WORD_START},}|(?=[a-z]*[A-Z0-9])[A-Za-z0-9]{${MIN_CUT},})`,
    `(?<glued>${KEY_PREFIX}[A-Za-z0-9]{${RANDOM_LENGTH + CHECKSUM_LENGTH - 1},${RANDOM_LENGTH + CHECKSUM_LENGTH + 1}})`,
    `${WORD_START}${UPPER_KEY_PREFIX}(?=[A-Z]*[0-9])[A-Z0-9]{${MIN_AT_WORD_START},}`,
    `(?:${RUN_START}|${AFTER_ESCAPE})eyJ[A-Za-z0-9_-]{12,}${JWT_PARTS}`,
    `${RUN_START}(?<glue>[A-Za-z0-9_-]{1,${MAX_GLUE}}?)(?<gluedJose>eyJ[A-Za-z0-9_-]{12,})(?=\\.)${JWT_PARTS}`,
  ].join('|'),
  'g',
);
/** The fast path: one test, true for every text SECRET_SHAPE could match (and a few more). */
const MAY_HOLD_SECRET = /(?:gk|gka|gcs)_(?:pub_)?(?:live|test)_|(?:GK|GKA|GCS)_(?:PUB_)?(?:LIVE|TEST)_|eyJ/;

/**
 * Parameter names that carry credentials by convention (lower-case, `-` read as `_`, as a word
 * between `_`s): API keys, tokens, secrets, passwords, signatures of presigned URLs
 * (`X-Amz-Signature`, `sig`), OAuth codes and assertions, libpq's `sslpassword` (a parameter of its
 * URIs and connection strings) and `PGPASSWORD`. Their values are never kept.
 */
const CREDENTIAL_NAME =
  /(?:^|_)(?:key|apikey|token|secret|password|passwd|pwd|pass|signature|sig|auth|authorization|credential|credentials|session|sessionid|sid|jwt|assertion|code|otp|sslpassword|pgpassword)s?(?:$|_)/;

/**
 * A parameter name as CREDENTIAL_NAME reads it: words split at `-`, `.` (a setting's path:
 * `spring.datasource.password`) and at camelCase humps (`accessToken`: `access_token`), lower-case.
 */
const credentialWords = (name: string): string =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[-.]/g, '_');

/** Whether a query parameter of this name (as decoded) carries a credential by convention. */
export const isCredentialName = (name: string): boolean => CREDENTIAL_NAME.test(credentialWords(name));

/**
 * Of the credential names, those whose value is a secret in free text too (`host=db password=x`), where
 * no `?` or `&` says a URL's parameters are read: the name's last word must name the secret. In a log or
 * an error, `code=ECONNREFUSED`, `exit_code=1`, `key=user:42` (a cache's key), `token_type=Bearer`,
 * `max_tokens=4096`, `password_file=/run/...` and `pass=12` (a test count) are no credentials; a key
 * named with another word before it is (`api_key`, `AccountKey`, `AWS_SECRET_ACCESS_KEY`), unless that
 * word names a key of data (NOT_SECRET_KEY: `cache_key`, `idempotency_key`, `sort_key`), and so is a
 * token unless it is a page's (`next_page_token`). Unknown names are hidden: a deny-list, not an
 * allow-list, so a vendor's `*_key` is hidden without being listed.
 */
const SECRET_IN_FREE_TEXT = /(?:^|_)(?:(?:ssl|pg)?password|passwd|pwd|secret|token|apikey|credentials?|jwt|assertion|otp|[a-z0-9]+_key)$/;
const NOT_SECRET_KEY =
  /(?:^|_)(?:cache|idempotency|dedup|dedupe|sort|partition|primary|foreign|unique|row|range|hash|object|map|lookup|routing|shard|index|composite|natural|surrogate|public|publishable|group|message|entity|resource|page|next_page|next|continuation|sync|pagination|cancellation)_(?:key|token)$/;
const namesSecretInFreeText = (name: string): boolean => {
  const words = credentialWords(name);
  return isCredentialName(name) && SECRET_IN_FREE_TEXT.test(words) && !NOT_SECRET_KEY.test(words);
};

/**
 * Credentials other software puts in URLs, which libraries (pg, ioredis, undici, OTLP exporters)
 * quote in their errors and operators put in settings:
 * - the password of a URL's userinfo (`scheme://user:PASSWORD@host`): only the password goes, the
 *   scheme, user and host help a diagnosis. Its authority ends at `/`, `?`, `#`, a space or `"` (a JSON
 *   string's end: the log's lines are matched whole); an `@` in an unencoded password is kept in it,
 *   the host starting after the last one, as URL parsers read it. A scheme is a whole word, so a long
 *   run of letters before `://` is tried from one place only (linear time).
 * - the user too when it is shaped like a token (TOKEN_RUN), with or without a password: git hosts take
 *   a token as the user name (`https://ghp_...@github.com`, `https://TOKEN:x-oauth-basic@...`), and
 *   HTTP APIs an API key as Basic's user with an empty password (`https://sk_live_...:@api...`); a UUID
 *   too (HEX_GROUPS). A user
 *   that is a name (`git`, `gatehouse`, `jdoe`, `ci-runner-01`) is no secret and stays.
 * - the value of a credential-named parameter after `?`, `&`, `;` (`&amp;`) or `#` (OAuth fragments),
 *   up to the next separator, a space or a quote (PARAMETER_VALUE).
 * - the value of a `key=value` pair in free text whose key names a secret there (SECRET_IN_FREE_TEXT):
 *   libpq's connection strings (`host=db password=x`, `password='a b'` with `\'` escapes), ADO.NET's and
 *   ODBC's (`Server=x; Pwd=y;`, `Password="a;b"`), settings and options (`db.password=x`,
 *   `--password=x`). A key starts a word (not inside one after a `\` or `%`: `\npassword` is `\n` and
 *   `password`) and ends with one of SECRET_IN_FREE_TEXT's last words in any case, so the many `a=b`
 *   of a text cost no match each; its value is read by QUOTED_VALUE or PAIR_VALUE. Likewise a `name: value`
 *   pair (PAIR_COLON: YAML, config dumps, object notation, JSON quoted in a message), whose unquoted value
 *   is kept when it is a word of prose (PROSE_AFTER_COLON: `token: expired`).
 * The regular expression matches a name and its `=` only; the value is read from there when the name is
 * a credential's, and otherwise the search goes on inside it, so a parameter or pair that is no
 * credential never hides one its value holds (`?next=https://u:pw@h/`, `?redirect=/cb?token=x`), and
 * no value is read twice (linear time).
 * Without `://` and `@`, or `=` after a separator or a secret's word, nothing here matches: plain
 * `a:b@c` and addresses stay.
 */
/**
 * A free-text pair's `=`, with spaces around it when there is one before it: libpq takes
 * `password = x` ("spaces around the equal sign are optional"), and so do ADO.NET and ODBC. A `=` with
 * a space after it only (`a password= in prose`) or doubled (`password == x`, a comparison) is none.
 */
const PAIR_EQUALS = '(?:[ \\t]+=(?!=)[ \\t]*|=)';
/**
 * A free-text pair's `:`, as YAML, a config dump, an object's notation (`{ password: 'x' }`, Python's
 * `{'password': 'x'}`) or JSON quoted in a message (`{"password":"x"}`) write it: after the name or its
 * closing quote (`nameQuote`), spaces around it. Not `::` (`Token::value`, a C++ or Rust path). Or, after a
 * quoted name only, Ruby's and PHP's hash rocket (`"password"=>"x"`, `'password' => 'x'`): `password => x`
 * unquoted is as likely a JavaScript arrow function.
 */
const PAIR_COLON = `(?<nameQuote>\\\\"|["'])?(?:(?<colon>[ \\t]*:(?!:)[ \\t]*)|(?<=["'])(?<rocket>[ \\t]*=>[ \\t]*))`;
/**
 * What prose puts after `password:` or `token:` (`token: expired`, `password: must be at least 12
 * characters`, `secret: none`): an unquoted value after a colon that is one of these words (in any case)
 * is kept. A colon ends prose's subject far more often than `=` does, so the colon form alone reads them;
 * any other value is hidden, a plain word too (`password: changeme` is a config dump's), as a deny-list
 * would rather hide a word of prose than leave a password. A word of letters that a sentence goes on
 * after (a space then a small letter: `must not hold the password: put it in passwordFile`) is prose too;
 * a config dump's value ends its line, or a `,` or `}`, and a password with a digit or sign is never
 * taken for one (`password: hunter2 was rejected` hides `hunter2`).
 */
const PROSE_AFTER_COLON = new Set(
  (
    'a an the no not none null nil undefined empty unset missing required invalid incorrect wrong expired revoked ' +
    'rejected refused denied failed malformed unknown unavailable mismatch redacted hidden changed reset ok valid ' +
    'present absent provided supplied given needed set too must is was are were has have does did doesn isn can ' +
    'cannot should will would may see use please true false yes enabled disabled verified accepted bad length'
  ).split(' '),
);
const URL_CREDENTIAL = new RegExp(
  [
    `(?<scheme>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://)(?<userinfo>(?:[^\\s/?#"\\\\]|\\\\["\\\\])+)(?=@)`,
    `(?<=[?&;#])(?<name>[^\\s=&;#?/"'<>\\\\]+)=`,
    `(?:(?<![A-Za-z0-9_.%\\\\-])|${AFTER_ESCAPE})(?<authName>(?i:(?:proxy-|x-)?authorization))(?<authQuote>\\\\"|["'])?[ \\t]*(?:=|:(?!:))[ \\t]*`,
    `(?:(?<![A-Za-z0-9_.%\\\\-])|${AFTER_ESCAPE})(?<pairName>[A-Za-z0-9_.-]*(?i:password|passwd|pwd|secret|token|key|credentials?|jwt|assertion|otp))(?:${PAIR_EQUALS}|${PAIR_COLON})`,
  ].join('|'),
  'g',
);
/**
 * An `Authorization` header's value as free text quotes it (`Authorization: Bearer x`, `authorization=Basic
 * x`, `{ authorization: "Bearer x" }`): its opening quote, an HTTP authentication scheme as a whole word
 * (RFC 9110 §11.1; kept: it tells how the request authenticated) and the credential after it (token68 or an
 * API key: hidden). Without a scheme named here the whole value is the credential. Schemes whose value is a
 * list of auth-params (Digest, AWS4-HMAC-SHA256) are not read (credentialAfterScheme).
 */
const AUTH_SCHEMES = 'bearer|basic|digest|aws4-hmac-sha256|hawk|token|apikey|api-key|dpop|negotiate|ntlm|ssws|gatehouse|pat|otp|key';
const AUTHORIZATION_VALUE = new RegExp(
  `(?<open>\\\\"|"(?![,:}\\]])|'|)(?:(?<scheme>(?:${AUTH_SCHEMES})(?![A-Za-z0-9_-]))[ \\t]*)?(?<credential>[^\\s"'\\\\\`<>,;&]*)`,
  'iy',
);
/** A parameter of this name whose value is a scheme then a space (SCHEME_THEN_SPACE) is read as a header's value, or only the scheme would go. */
const AUTHORIZATION_NAME = /^(?:proxy-|x-)?authorization$/i;
const SCHEME_THEN_SPACE = new RegExp(`^(?:${AUTH_SCHEMES})[ \\t]+[^\\s]`, 'i');
/** Whether an unquoted value after a colon, with the two characters after it, is prose's (PROSE_AFTER_COLON). */
const isProseAfterColon = (value: string, after: string): boolean =>
  PROSE_AFTER_COLON.has(value.toLowerCase()) || (/^[A-Za-z]+$/.test(value) && /^ [a-z]/.test(after));
/**
 * What angle brackets hold in a help text or a dump where no secret is: the name of what belongs there
 * (`X-API-Key: <key>`, `password=<password>`, Gatehouse's own src/gateway/stages/credential.ts) or Go's
 * and others' `<nil>`, `<redacted>`.
 */
const PLACEHOLDER = /^(?:your[-_]?)?(?:api[-_]?)?(?:key|token|secret|password|pass|credentials?|value|redacted|hidden|nil|null|none|empty|unset)$/i;
/** Closing brackets and punctuation at a free-text value's end (only a run's start is tried: linear). */
const TEXT_CLOSING = /(?<=[^)\]},.])[)\]},.]+$/;
/** A URL parameter's value, read where its `=` ends. */
const PARAMETER_VALUE = /[^\s&;#"'<>\\`]+/y;
/**
 * A quoted value (the quotes stay): libpq's `'...'` with `\` escapes, ADO.NET's and JAAS's `"..."`, and,
 * in a log line (JSON), `\"...\"`. There a bare `"` right after `=` ends a JSON string: it is no value's
 * quote when `,` `:` `}` or `]` follows, and a `'...'` value holds no bare `"`, so a replacement never
 * spans two of the line's strings. Beside quotes, a shell's backticks (`` password=`x` ``) and a
 * placeholder's or Go's angle brackets (`password=<x>`): they stay, what they hold goes.
 */
const QUOTED_VALUE =
  /'(?<single>(?:[^'"\\]|\\.)+)'|"(?![,:}\]])(?<double>(?:[^"\\]|\\.)+)"|\\"(?<escaped>(?:[^"\\]|\\[^"])+)\\"|`(?<backtick>[^`"\\]+)`|<(?<angle>[^<>\s"'\\`]+)>/y;
/**
 * A free-text pair's unquoted value: to a space, a quote or `\` (a JSON escape), or a `;` that ends it
 * as ADO.NET's separator: one with the next pair after it (`;Server=`, or words in capitals: `;User Id=`),
 * a space or the end. Any other
 * `;` is the value's own (libpq's unquoted value ends only at a space: `password=p4ss;w0rd`), so the
 * rest of the secret is not left after it. After a quote that is never closed (a text cut short) too:
 * what follows it is still the secret.
 */
const PAIR_VALUE =
  /(?<open>'|"(?![,:}\]])|\\"|[<>`]|)(?<bare>(?:[^\s;'"<>\\`]|;(?=[^\s;'"<>\\`])(?![A-Za-z][A-Za-z0-9_.-]{0,63}=|[A-Z][A-Za-z0-9_.-]{0,31}(?: [A-Z][A-Za-z0-9_.-]{0,31}){1,3}=))+)/y;
/**
 * The same credentials in a URL that is itself percent-encoded in another URL (a `redirect=`, `next=`
 * or `state=` parameter), once or more: there `?` is `%3F` (`%253F` encoded twice), `=` is `%3D`, `@`
 * is `%40`, so URL_CREDENTIAL sees one parameter's value. A separator, `=`, `:`, `/` or `@` counts only
 * encoded as often as the one that starts the match (a backreference to the `%25`s it has): at the inner URL's
 * level, `%2526` is a `&` inside one of its values, not between them. Up to 5 levels (`%25` 4 times) and
 * a name of up to 64 characters: bounds that keep each place tried a constant cost (linear time); a
 * scheme starts a word or follows an escape (`url%3Dhttps%253A...`).
 * - `(?<encodedName>)`: a parameter's name after an encoded `?`, `&` or `#`, and its encoded `=`; the
 *   value is read by ENCODED_VALUE when the name (decoded as often as it is encoded) is a credential's.
 * - `(?<encodedUserinfo>)`: a userinfo after an encoded `://`, up to its last encoded `@`.
 */
const ENCODED_URL_CREDENTIAL = new RegExp(
  [
    `%(?<plevel>(?:25){0,4})(?:3[Ff]|26|23)(?<encodedName>(?:[A-Za-z0-9_.~+-]|%(?!\\k<plevel>(?:3[DdFf]|26|23))[0-9A-Fa-f]{2}){1,64})%\\k<plevel>3[Dd]`,
    `(?<encodedScheme>(?:(?<![A-Za-z0-9+.-])|(?<=%[0-9A-Fa-f]{2}))[A-Za-z][A-Za-z0-9+.-]*%(?<ulevel>(?:25){0,4})3[Aa]%\\k<ulevel>2[Ff]%\\k<ulevel>2[Ff])(?<encodedUserinfo>(?:[^\\s/?#&"'<>\\\\%]|%(?!\\k<ulevel>(?:2[Ff]|3[Ff]|23))[0-9A-Fa-f]{2})+)(?=%\\k<ulevel>40)`,
  ].join('|'),
  'g',
);
/** An encoded parameter's value, for each level: up to an `&` or `#` encoded as often as its name's separator, or a raw separator. */
const ENCODED_VALUE = Array.from({ length: 5 }, (_, level) => new RegExp(`(?:[^\\s&;#"'<>\\\\\`%]|%(?!${'25'.repeat(level)}(?:26|23)))+`, 'y'));
/** An encoded `=` or `://`: ENCODED_URL_CREDENTIAL's fast path, one test. */
const MAY_HOLD_ENCODED_URL_CREDENTIAL = /%(?:25){0,4}(?:3D|3A%(?:25){0,4}2F)/i;
/**
 * URL_CREDENTIAL's fast path, one test: `://` then `@` in one authority, a separator then a name
 * holding one of CREDENTIAL_NAME's words (any case: `accessToken`, `X-Amz-Signature`) then `=`, or
 * one of SECRET_IN_FREE_TEXT's last words then `=` and a value; or an encoded `=` or `://`
 * (MAY_HOLD_ENCODED_URL_CREDENTIAL).
 */
const MAY_HOLD_URL_CREDENTIAL =
  /:\/\/[^\s/?#]*@|[?&;#][^\s=&;#?]*(?:key|token|secret|pass|pwd|sig|auth|credential|session|sid|jwt|assertion|code|otp)[^\s=&;#?]*=[^\s&;#]|authorization\\?["']?[ \t]*[:=][ \t]*\S|(?:passwd|password|pwd|secret|token|key|credentials?|jwt|assertion|otp)(?:[ \t]+=(?!=)[ \t]*|=|\\?["']?[ \t]*:(?!:)[ \t]*|\\?["'][ \t]*=>[ \t]*)\S|%(?:25){0,4}(?:3D|3A%(?:25){0,4}2F)/i;
/**
 * A run of letters and digits that makes a URL's user a token: 16 or more, both letters and digits among
 * them. Tokens are random over 32 to 62 characters (`ghp_` and 36, `glpat-` and 20, 40 hex digits, Azure
 * DevOps' 52), so they hold such a run almost always (36 of base62 lack a digit once in 550); a name's
 * words are shorter or split by `_`, `-` or `.` (`gatehouse_migrations_v2`, `ci-runner-01-production`).
 */
const TOKEN_RUN = /[A-Za-z0-9]{16,}/g;
/**
 * Hex digits in groups split by `-`: a UUID (`3f2b9c1e-7a4d-4e8b-9f0a-1c2d3e4f5a6b`, the shape of many API
 * keys and tokens: Heroku's, Azure's subscription keys, Sentry's) has no run of 16, yet is a token as a
 * user, with 32 hex digits (HEX_DIGITS or more). A name's hyphenated words are no hex (`ci-runner-01`), or
 * too few digits to be a token (`deadbeef-cafe`).
 */
const HEX_GROUPS = /^[0-9A-Fa-f]+(?:-[0-9A-Fa-f]+)*$/;
const HEX_DIGITS = 32;
const isTokenShaped = (user: string): boolean =>
  (HEX_GROUPS.test(user) && user.replaceAll('-', '').length >= HEX_DIGITS) ||
  (user.match(TOKEN_RUN) ?? []).some((run) => /[0-9]/.test(run) && /[A-Za-z]/.test(run));

/** A URL's userinfo with its password, and its user when shaped like a token, replaced; `colon` is its `:` as it stands (`%3A` encoded). */
function userinfoWithoutSecrets(userinfo: string, replacement: Replacement, colon = ':'): string {
  const at = colon === ':' ? userinfo.indexOf(':') : userinfo.search(new RegExp(colon, 'i'));
  const user = at === -1 ? userinfo : userinfo.slice(0, at);
  const keptUser = isTokenShaped(user) ? replacing(replacement, user) : user;
  if (at === -1) return keptUser;
  const password = userinfo.slice(at + colon.length);
  // An empty password (`TOKEN:@`) is nothing to hide: the user is the credential then.
  return `${keptUser}${userinfo.slice(at, at + colon.length)}${password === '' ? '' : replacing(replacement, password)}`;
}

/** A character of SECRET_SHAPE's alphabet. */
const SECRET_CHARACTER = /[A-Za-z0-9_.-]/;

const KIND_BY_PREFIX = new Map((Object.entries(KEY_PREFIXES) as [KeyKind, string][]).map(([kind, prefix]) => [prefix, kind]));

/**
 * How long the key is that starts a glued candidate (a prefix and 29 to 31 letters and digits), or 0 when
 * none does: a key as it is (30 characters after the prefix), with one character inserted (31), changed
 * (30) or dropped (29). An insertion is tried before a change: a character inserted before the checksum's
 * last one also reads as that one changed, which would leave the last one out.
 */
function gluedKeyAt(candidate: string): number {
  const prefix = /^(?:gk_pub|gka|gcs|gk)(?=_)/.exec(candidate)![0];
  const kind = KIND_BY_PREFIX.get(prefix)!;
  const length = prefix.length + 6 + RANDOM_LENGTH + CHECKSUM_LENGTH;
  const key = candidate.slice(0, length);
  if (candidate.length >= length && isWellFormedKey(key, kind)) return length;
  if (candidate.length > length && isKeyOffByOneCharacter(candidate.slice(0, length + 1), kind)) return length + 1;
  if (candidate.length >= length && isMistypedKey(key, kind)) return length;
  return isKeyOffByOneCharacter(candidate.slice(0, length - 1), kind) ? length - 1 : 0;
}

/** What a secret-shaped part becomes: fixed text, or text made from the part (a key's non-secret start). */
export type Replacement = string | ((secret: string) => string);

const replacing = (replacement: Replacement, secret: string): string => (typeof replacement === 'string' ? replacement : replacement(secret));

/** What a decoded parameter name reads as, decoded `times` times (as often as it was encoded); one that is no valid escape is read as sent. */
function decodedName(name: string, times = 1): string {
  let decoded = name;
  try {
    for (let i = 0; i < times; i++) decoded = decodeURIComponent(decoded.replaceAll('+', ' '));
  } catch {
    return decoded;
  }
  return decoded;
}

/** Whether text may hold anything `replaced` replaces: at most two tests. */
const mayHoldSecret = (text: string): boolean => MAY_HOLD_SECRET.test(text) || MAY_HOLD_URL_CREDENTIAL.test(text);

/**
 * Every secret-shaped part replaced. URL credentials first, so a replacement function is given a key
 * that is a URL's password or a parameter's value whole (and keeps its start), not what the key
 * shape's pass left of it; the key shapes then, also in the parameters that are no credential.
 */
function replaced(text: string, replacement: Replacement): string {
  let out = text;
  if (MAY_HOLD_URL_CREDENTIAL.test(out)) {
    out = urlCredentialsReplaced(out, replacement);
    if (MAY_HOLD_ENCODED_URL_CREDENTIAL.test(out)) out = encodedUrlCredentialsReplaced(out, replacement);
  }
  if (!MAY_HOLD_SECRET.test(out)) return out;
  return replaceShapes(out, replacement);
}

/** URL_CREDENTIAL's credentials replaced. */
function urlCredentialsReplaced(text: string, replacement: Replacement): string {
  let out = '';
  let copied = 0;
  URL_CREDENTIAL.lastIndex = 0;
  for (let found = URL_CREDENTIAL.exec(text); found !== null; found = URL_CREDENTIAL.exec(text)) {
    const { scheme, userinfo, name, pairName, nameQuote, colon, rocket, authName, authQuote } = found.groups as {
      rocket?: string;
      authName?: string;
      authQuote?: string;
      scheme?: string;
      userinfo?: string;
      name?: string;
      pairName?: string;
      nameQuote?: string;
      colon?: string;
    };
    const at = found.index + found[0].length;
    let kept: string;
    let end: number;
    if (userinfo !== undefined) {
      kept = `${scheme!}${userinfoWithoutSecrets(userinfo, replacement)}`;
      end = at;
    } else if (authName !== undefined || (name !== undefined && AUTHORIZATION_NAME.test(name) && SCHEME_THEN_SPACE.test(text.slice(at, at + 40)))) {
      // A parameter named so whose value is a scheme then a space (`;authorization=Bearer x`) is a header's.
      const credential = credentialAfterScheme(text, at, authQuote);
      if (credential === null) continue;
      kept = `${text.slice(found.index, credential.at)}${replacing(replacement, credential.secret)}`;
      end = credential.at + credential.secret.length;
    } else {
      const value = credentialValueAt(
        text,
        at,
        name,
        pairName,
        colon === undefined && rocket === undefined ? undefined : (nameQuote ?? ''),
        colon !== undefined,
      );
      // No credential: the search goes on right after `=`, inside the value.
      if (value === null) continue;
      const { open, secret, close } = value;
      kept = `${found[0]}${open}${replacing(replacement, secret)}${close}`;
      end = at + open.length + secret.length + close.length;
    }
    out += text.slice(copied, found.index) + kept;
    copied = end;
    // Set again after the replacement function, which may have used the rule itself.
    URL_CREDENTIAL.lastIndex = end;
  }
  return out + text.slice(copied);
}

/** A credential's value as it stands after `=`: its quotes (kept) and the secret between them. */
interface Value {
  open: string;
  secret: string;
  close: string;
}

/**
 * The credential after a parameter's or pair's `=` (or a pair's `:` or `=>`, `colonAfter` then the quote
 * that closed its name, or ''; `prose` for a `:`, PROSE_AFTER_COLON), or null when the name is no
 * credential's or no value follows.
 */
function credentialValueAt(
  text: string,
  at: number,
  parameter: string | undefined,
  pair: string | undefined,
  colonAfter?: string,
  prose = false,
): Value | null {
  if (parameter !== undefined ? !isCredentialName(decodedName(parameter)) : !namesSecretInFreeText(pair!)) return null;
  if (parameter !== undefined) {
    PARAMETER_VALUE.lastIndex = at;
    const bare = PARAMETER_VALUE.exec(text);
    if (bare !== null) return { open: '', secret: bare[0], close: '' };
  }
  QUOTED_VALUE.lastIndex = at;
  const quoted = QUOTED_VALUE.exec(text);
  if (quoted !== null) {
    const { single, double, escaped, backtick, angle } = quoted.groups!;
    if (angle !== undefined) return PLACEHOLDER.test(angle) ? null : { open: '<', secret: angle, close: '>' };
    const quote = single !== undefined ? "'" : double !== undefined ? '"' : backtick !== undefined ? '`' : '\\"';
    return { open: quote, secret: (single ?? double ?? escaped ?? backtick)!, close: quote };
  }
  // A name in bare double quotes is JSON's (`{"password":"x"}`), maybe the log line's own field: only a
  // quoted value is replaced there, so the line stays JSON (`"otp":123456` is kept).
  if (colonAfter === '"') return null;
  PAIR_VALUE.lastIndex = at;
  const bare = PAIR_VALUE.exec(text);
  // A parameter's unquoted value was PARAMETER_VALUE's to read.
  if (bare === null || (parameter !== undefined && bare.groups!.open === '')) return null;
  const { open, bare: value } = bare.groups as { open: string; bare: string };
  // Prose and user agents close what they opened after a pair (`(token=x)`, `[password=x].`): a bracket,
  // a comma or a full stop at an unquoted value's end is the text's. A secret ending in one shows that
  // character only; one holding it elsewhere is hidden whole.
  const secret = open === '' ? value.replace(TEXT_CLOSING, '') : value;
  if (secret === '') return null;
  // `token: expired`: prose, not a setting.
  if (prose && open === '' && isProseAfterColon(secret, text.slice(at + secret.length, at + secret.length + 2))) return null;
  // `includes credentials: https://u:pw@h/`, `invalid credentials: ...`: the word alone before a colon is
  // prose's, and a URL after a colon is the URL rule's (its password goes, the rest helps a diagnosis).
  if (prose && (/^credentials?$/i.test(pair ?? '') || secret.includes('://'))) return null;
  return { open, secret, close: '' };
}

/**
 * The credential of an Authorization header's value that starts at `at` (AUTHORIZATION_VALUE): where it
 * starts and what it is, or null when no credential follows (`Authorization: Bearer` at a line's end), the
 * value is prose (`authorization: denied`) or a list of auth-params (`Digest username="x", ...`). After a
 * name in bare double quotes (JSON's) only a quoted value is read, so a log line stays JSON.
 */
function credentialAfterScheme(text: string, at: number, nameQuote: string | undefined): { at: number; secret: string } | null {
  AUTHORIZATION_VALUE.lastIndex = at;
  const value = AUTHORIZATION_VALUE.exec(text)!;
  const { open, scheme, credential } = value.groups as { open: string; scheme?: string; credential: string };
  if (nameQuote === '"' && open !== '"') return null;
  const secret = open === '' ? credential.replace(TEXT_CLOSING, '') : credential;
  if (secret === '' || (secret.endsWith('=') && text[at + value[0].length] === '"')) return null;
  // Prose: `authorization: denied`, `Authorization: Bearer token missing`.
  const word = secret.toLowerCase();
  if (open === '' && (PROSE_AFTER_COLON.has(word) || (scheme !== undefined && /^(?:token|header|scheme|auth|credentials?)$/.test(word)))) return null;
  return { at: at + value[0].length - credential.length, secret };
}

/** ENCODED_URL_CREDENTIAL's credentials replaced. Run after URL_CREDENTIAL: a value that pass kept (no credential's) is searched here whole. */
function encodedUrlCredentialsReplaced(text: string, replacement: Replacement): string {
  let out = '';
  let copied = 0;
  ENCODED_URL_CREDENTIAL.lastIndex = 0;
  for (let found = ENCODED_URL_CREDENTIAL.exec(text); found !== null; found = ENCODED_URL_CREDENTIAL.exec(text)) {
    const groups = found.groups as { plevel?: string; encodedName?: string; encodedScheme?: string; ulevel?: string; encodedUserinfo?: string };
    const at = found.index + found[0].length;
    let kept: string;
    let end: number;
    if (groups.encodedUserinfo !== undefined) {
      kept = `${groups.encodedScheme!}${userinfoWithoutSecrets(groups.encodedUserinfo, replacement, `%${groups.ulevel!}3A`)}`;
      end = at;
    } else {
      const level = groups.plevel!.length / 2;
      // Decoded once for each level of the URL it stands in, and once for its own escapes (`api%255Fkey`).
      if (!isCredentialName(decodedName(groups.encodedName!, level + 2))) continue;
      const valueRule = ENCODED_VALUE[level]!;
      valueRule.lastIndex = at;
      const value = valueRule.exec(text);
      if (value === null) continue;
      kept = `${found[0]}${replacing(replacement, value[0])}`;
      end = at + value[0].length;
    }
    out += text.slice(copied, found.index) + kept;
    copied = end;
    ENCODED_URL_CREDENTIAL.lastIndex = end;
  }
  return out + text.slice(copied);
}

/** The key and JWT shapes replaced (SECRET_SHAPE). */
function replaceShapes(text: string, replacement: Replacement): string {
  return text.replace(SECRET_SHAPE, (match: string, ...rest: unknown[]) => {
    const groups = rest[rest.length - 1] as { glued?: string; glue?: string; gluedJose?: string };
    if (groups.glued !== undefined) {
      const length = gluedKeyAt(match);
      // The letters or digits after a key (at most 2) are other text's.
      return length === 0 ? match : replacing(replacement, match.slice(0, length)) + match.slice(length);
    }
    if (groups.glue !== undefined && groups.gluedJose !== undefined) {
      const { glue, gluedJose } = groups;
      // No JOSE header: a look-alike, whose parts after it may still hold a token (they start a word).
      if (!isJoseHeader(gluedJose)) return glue + gluedJose + replaceShapes(match.slice(glue.length + gluedJose.length), replacement);
      return glue + replacing(replacement, match.slice(glue.length));
    }
    return replacing(replacement, match);
  });
}

/** Whether a base64url part is a JOSE header: a JSON object naming its `alg`. */
function isJoseHeader(part: string): boolean {
  try {
    const header: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

/** Whether text holds a secret-shaped part; the common case (nothing like one) costs two tests. */
export function holdsSecret(text: string): boolean {
  return mayHoldSecret(text) && replaced(text, '') !== text;
}

/** Text with every secret-shaped part replaced by `replacement`; the common case (nothing like one) costs two tests. */
export function withoutSecrets(text: string, replacement: Replacement): string {
  return mayHoldSecret(text) ? replaced(text, replacement) : text;
}

/**
 * A path without secrets. A canonical path has unreserved characters decoded already; a path
 * refused as not canonical (and any path the control plane records) is as sent, so one that hides a
 * secret behind percent-encoding (`gk%5Flive_...`) is kept decoded, with the secret replaced.
 */
export function pathWithoutSecrets(path: string, replacement: Replacement): string {
  if (path.includes('%')) {
    // Only the escapes of characters a secret is made of are decoded: enough to see one, and no
    // escape of a control character (`%00`, `%1b`) becomes one in a record, where a NUL made
    // PostgreSQL refuse the whole batch and an ESC reaches the terminal of whoever reads it.
    const decoded = path.replace(/%([2-7][0-9A-Fa-f])/g, (escape, hex: string) => {
      const c = String.fromCharCode(parseInt(hex, 16));
      return SECRET_CHARACTER.test(c) ? c : escape;
    });
    if (decoded !== path && mayHoldSecret(decoded)) {
      // Kept decoded only when a secret was found in it: a look-alike stays as sent.
      const without = replaced(decoded, replacement);
      if (without !== decoded) return without;
    }
  }
  return withoutSecrets(path, replacement);
}
