import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { denialOf, exchangeFor, type RequestHead } from '../test-exchange.ts';
import { requestHeadStage } from './request-head.ts';

const run = async (head: RequestHead) => denialOf(requestHeadStage(await exchangeFor(head)));

describe('request-head stage', () => {
  test('a request with one of each decided-on header passes', async () => {
    const denial = await run({
      headers: [
        ['Authorization', 'Bearer t'],
        ['X-API-Key', 'k'],
        ['DPoP', 'p'],
        ['Origin', 'https://app.example'],
        ['Referer', 'https://app.example/page'],
        ['X-Other', 'a'],
        ['X-Other', 'b'],
      ],
    });
    assert.equal(denial, undefined, 'other headers may repeat');
  });

  test('any decided-on header sent twice, in any spelling, is refused', async () => {
    const pairs: [string, string][] = [
      ['Host', 'host'],
      ['Authorization', 'authorization'],
      ['X-API-Key', 'x-api-key'],
      ['X-API-Key', 'X_API_KEY'],
      ['DPoP', 'dpop'],
      ['Origin', 'ORIGIN'],
      ['Referer', 'referer'],
    ];
    for (const [first, second] of pairs) {
      const denial = await run({
        headers: [
          [first, first === 'Host' ? 'a.example' : 'v1'],
          [second, second === 'host' ? 'b.example' : 'v2'],
        ],
      });
      assert.equal(denial?.code, 'VALIDATION_FAILED', `${first} + ${second}`);
      assert.match(denial?.detail ?? '', /more than one/);
    }
  });

  test('a method override header, in any spelling, is refused: the method itself must be sent', async () => {
    for (const name of ['X-HTTP-Method-Override', 'x-http-method', 'X-Method-Override', 'X_HTTP_Method_Override']) {
      const denial = await run({ method: 'POST', headers: [[name, 'DELETE']] });
      assert.equal(denial?.code, 'VALIDATION_FAILED', name);
      assert.match(denial?.detail ?? '', /not honoured/);
    }
  });

  test('_method in the query string, encoded or not, is refused; a parameter that merely ends in it is not', async () => {
    for (const target of ['/orders?_method=DELETE', '/orders?a=1&_METHOD=DELETE', '/orders?%5fmethod=DELETE', '/orders?_method']) {
      assert.equal((await run({ method: 'POST', target }))?.code, 'VALIDATION_FAILED', target);
    }
    assert.equal(await run({ target: '/orders?the_method=fast&_methods=1' }), undefined);
  });

  test('_method with percent-encoded letters, or as PHP spells it, is refused: upstream query parsers decode the name', async () => {
    // Express (qs, querystring), Symfony/Laravel ($_GET) and Rack decode the name before looking up
    // `_method`; PHP also reads a `.` in a name as `_`. Each of these reaches the override as `_method`.
    const targets = [
      '/orders?_%6Dethod=DELETE',
      '/orders?%5F%6D%65%74%68%6F%64=DELETE',
      '/orders?_meth%6fd=DELETE',
      '/orders?a=1&.method=DELETE',
      '/orders?+method=DELETE',
    ];
    for (const target of targets) {
      assert.equal((await run({ method: 'POST', target }))?.code, 'VALIDATION_FAILED', target);
    }
    assert.equal(await run({ target: '/orders?%6Dethod=x&the_%6Dethod=y' }), undefined, 'other names that merely decode to *method pass');
  });

  test('_method as PHP reads it is refused: leading spaces dropped, the name cut at a NUL', async () => {
    // PHP's php_register_variable_ex skips a name's leading spaces and reads it with strlen: each of
    // these is $_GET['_method'] to Symfony and Laravel.
    for (const target of ['/orders?%20_method=DELETE', '/orders?+_method=DELETE', '/orders?++.method=DELETE', '/orders?_method%00x=DELETE']) {
      assert.equal((await run({ method: 'POST', target }))?.code, 'VALIDATION_FAILED', target);
    }
  });

  test('Host must be a host name or address with an optional port', async () => {
    for (const host of ['a.example', 'a.example:8443', '127.0.0.1:80', '[::1]:8080', 'svc_name.internal']) {
      assert.equal(await run({ headers: [['Host', host]] }), undefined, host);
    }
    for (const host of ['a.example/evil', 'user@a.example', 'a.example:80:80', 'a.example:port']) {
      assert.equal((await run({ headers: [['Host', host]] }))?.code, 'VALIDATION_FAILED', host);
    }
  });
});
