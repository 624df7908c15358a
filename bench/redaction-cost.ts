/**
 * What the shared secret-shape rule (src/domain/secret-redaction.ts) costs on text anyone may send: a
 * path, user agent or header of `eyJ` look-alikes or URL-like text, which the gateway redacts for every
 * unknown path it answers 404 for. Every place a token could start once scanned its run to the end, so
 * such text cost its length squared (64 KiB: 23 s); the rule is linear now. Prints ms per input at 4 KiB
 * and 64 KiB, and fails when 16 times the text costs more than 64 times the time (linear: about 16 times).
 * The unit tests check where the rule looks, not how long it takes.
 *
 *   node bench/redaction-cost.ts
 */
import { holdsSecret, pathWithoutSecrets, withoutSecrets } from '../src/domain/secret-redaction.ts';

const shapes: Record<string, (n: number) => string> = {
  '-eyJ run': (n) => '/' + '-eyJ'.repeat(n / 4),
  'eyJ run': (n) => '/' + 'eyJ'.repeat(n / 3),
  'glued eyJ run': (n) => `a_${'eyJ'.repeat(n / 3)}.x`,
  'escaped eyJ- run': (n) => `%3D${'eyJ-'.repeat(n / 4)}`,
  // The URL-credential part of the rule: a scheme, then colons and parameters that never end a match.
  'URL-like run': (n) => `${'a'.repeat(n / 4)}://${'b:'.repeat(n / 4)}${'?x='.repeat(n / 12)}`,
  // A token-shaped user with no `@` to end it, and an encoded URL's userinfo with an encoded `@` in every place.
  'userinfo run': (n) => `https://${'a1'.repeat(n / 4)} https%3A%2F%2F${'u%40'.repeat(n / 8)}`,
  // Pairs naming a secret whose quote never closes, and names with `=` whose values are searched on.
  'key=value run': (n) => `${"password='".repeat(n / 20)}${'a='.repeat(n / 4)}`,
  // Secret words followed by spaces that no `=` ends (a pair's `=` may have spaces around it).
  'spaced pair run': (n) => `password${' '.repeat(n / 2)}x ${'key \t'.repeat(n / 10)}`,
  // A pair's value of `;`s each followed by a name-like run that no `=` ends (ADO.NET's separator or the value's own).
  'semicolon value run': (n) => `password=x${';Ab Cd'.repeat(n / 6)}`,
  // Secret names then a colon (YAML, object notation) with quotes that never close, and names in quotes whose value is bare.
  'colon pair run': (n) => `${"password: '".repeat(n / 24)}${'"token":   '.repeat(n / 24)}`,
  // Authorization names in JSON quotes whose value is bare (never read), and one whose value is spaces only.
  'authorization run': (n) => `${'"authorization":  '.repeat(n / 36)}Authorization:${' '.repeat(n / 2)}`,
  // Separators encoded at every level the rule reads, none followed by an encoded `=`.
  'encoded URL run': (n) => '%3Fa%253Fa%25253Fa%2525253Fa%252525253Fa'.repeat(n / 40),
  // Glued key look-alikes (each one's checksum is tested, and one character off it), and an upper-case prefix then capitals.
  'glued key run': (n) => `${`x${'gk_live_'}${'a'.repeat(30)}`.repeat(n / 78)}GK_LIVE_${'A'.repeat(n / 2)}`,
  // Glued look-alikes whose written checksum is a CRC32 (below 2^32), so a key with a character changed, dropped or inserted is looked for in each.
  'glued off-by-one run': (n) => `x${'gk_live_'}${'a'.repeat(23)}00001Z`.repeat(n / 38),
};

const cost = (text: string): number => {
  const started = performance.now();
  for (let i = 0; i < 3; i++) {
    withoutSecrets(text, '{secret}');
    pathWithoutSecrets(text, '{secret}');
    holdsSecret(text);
  }
  return (performance.now() - started) / 3;
};

let failed = false;
for (const [name, make] of Object.entries(shapes)) {
  cost(make(4096)); // warm-up
  const small = cost(make(4096));
  const large = cost(make(65_536));
  const ratio = large / Math.max(small, 0.01);
  const verdict = ratio > 64 ? 'SUPERLINEAR' : 'linear';
  if (ratio > 64) failed = true;
  console.log(`${name}: ${small.toFixed(2)} ms at 4 KiB, ${large.toFixed(2)} ms at 64 KiB (${ratio.toFixed(1)}x for 16x the text): ${verdict}`);
}
if (failed) process.exitCode = 1;
