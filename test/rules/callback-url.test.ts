/**
 * The callback URL rule (src/rules/callback-url.ts): every hostile spelling
 * is refused with a message that names what is wrong, every ordinary one is
 * accepted, and whatever is accepted means the same to the WHATWG parser as
 * to the rule's own reading of the raw text.
 */
import fc from 'fast-check';
import { checkCallbackUrl, checkCallbackUrls, quote, violationPath } from '../../src/rules';
import { HOSTILE, LEGITIMATE } from '../support/hostile-urls';

describe('checkCallbackUrl', () => {
  it.each(HOSTILE.map(([url, why]) => [quote(url.length > 90 ? `${url.slice(0, 90)}...` : url), url, why] as const))('refuses %s', (_shown, url, why) => {
    const message = checkCallbackUrl(url);
    expect(message).toEqual(expect.any(String));
    expect(message).toMatch(why);
  });

  it.each(LEGITIMATE.map((u) => [u.length > 90 ? `${u.slice(0, 90)}...` : u, u]))('accepts %s', (_shown, url) => {
    expect(checkCallbackUrl(url)).toBeUndefined();
  });

  it('words every refusal as one printable-ASCII sentence without a final period', () => {
    for (const [url] of HOSTILE) {
      const message = checkCallbackUrl(url)!;
      expect(message).toMatch(/^[\x20-\x7e]+$/);
      expect(message).not.toMatch(/\.$/);
      expect(message).not.toMatch(/\. [A-Z]/);
      expect(message.length).toBeLessThan(260);
    }
  });

  it('never normalises: the same URL with one character of surrounding whitespace is refused', () => {
    for (const url of LEGITIMATE.slice(0, 10)) {
      for (const ws of [' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\u000b', '\u000c', '\u0000', '\u001f']) {
        expect(checkCallbackUrl(ws + url)).toEqual(expect.any(String));
        expect(checkCallbackUrl(url + ws)).toEqual(expect.any(String));
      }
    }
  });

  it('accepts only what the WHATWG parser reads the same way (fuzzed)', () => {
    const alphabet = fc.constantFrom(
      'a', 'b', 'x', 'n', '-', '.', '/', '\\', '@', ':', '%', '2', 'e', '6', '1', '0', '#', '?', '[', ']', '*', ' ', '\t', '\n', 'A', '~', '_',
    );
    const tail = fc.array(alphabet, { maxLength: 24 }).map((cs) => cs.join(''));
    const prefix = fc.constantFrom('https://', 'http://', 'https:', 'http://localhost', 'https://a.b', 'http://127.0.0.1', 'http://[::1]', 'https://[');
    let accepted = 0;
    fc.assert(fc.property(prefix, tail, (p, t) => {
      const raw = p + t;
      if (checkCallbackUrl(raw) !== undefined) return;
      accepted += 1;
      const url = new URL(raw);
      expect(raw).toMatch(/^https?:\/\/[\x21-\x7e]+$/);
      expect(raw).not.toMatch(/[\\#]/);
      // The rule's own reading of the raw text: scheme, authority, host, port.
      const [, scheme, authority] = /^(https?):\/\/([^/?]*)/.exec(raw)!;
      expect(authority).not.toContain('@');
      const [, host, port] = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(authority!)!;
      expect(url.protocol).toBe(`${scheme}:`);
      expect(url.hostname).toBe(host!.toLowerCase());
      expect(url.port).toBe(port === undefined || port === (scheme === 'https' ? '443' : '80') ? '' : port);
      if (scheme === 'http') expect(['localhost', '127.0.0.1', '[::1]']).toContain(url.hostname);
    }), { numRuns: 3000 });
    expect(accepted).toBeGreaterThan(50);
  });
});

describe('checkCallbackUrls', () => {
  it('reports each hostile element at its own index, and keeps the exact strings for duplicates', () => {
    const urls = ['https://app.example.com/cb', 'https://app.example.com/cb ', 'https://APP.example.com/cb', 'https://app.example.com/cb'];
    expect(checkCallbackUrls(urls)).toEqual([
      { code: 'callback_urls.invalid', attribute: 'callback_urls', index: 1, message: expect.stringMatching(/whitespace/) },
      { code: 'callback_urls.duplicate', attribute: 'callback_urls', index: 3, message: 'duplicates callback_urls[0] ("https://app.example.com/cb")' },
    ]);
    expect(checkCallbackUrls(urls).map(violationPath)).toEqual(['callback_urls[1]', 'callback_urls[3]']);
  });
});

describe('quote', () => {
  it('escapes every character outside printable ASCII', () => {
    expect(quote('a\r\nb')).toBe('"a\\r\\nb"');
    expect(quote('a\u2028b\u0085c\u007fd\u00e9')).toBe('"a\\u2028b\\u0085c\\u007fd\\u00e9"');
    expect(quote('\\"')).toBe('"\\\\\\""');
  });
});
