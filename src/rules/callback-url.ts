/**
 * The callback URL (redirect URI) rule.
 *
 * An authorization server compares a `redirect_uri` with the registered
 * callback URLs as exact strings, and then sends the browser to it. So the
 * string that is stored must mean one thing to every URL parser: the rule
 * checks the raw text exactly as given (never a trimmed or normalised copy),
 * with a small grammar of its own (a subset of RFC 3986), and then asks the
 * WHATWG parser (`new URL`, what browsers use) whether it reads the same
 * scheme, host and port. Anything that two parsers could read differently is
 * refused, with a message that says what to write instead.
 *
 * The rule, in order (the first problem found is reported):
 * 1. at most {@link MAX_CALLBACK_URL_LENGTH} characters, not empty;
 * 2. no whitespace, control or invisible formatting characters anywhere
 *    (Unicode White_Space, C0 and C1 controls, DEL, Cf such as U+200B);
 * 3. ASCII only: a path or query percent-encodes other characters (UTF-8),
 *    an international host is written in its `xn--` (punycode) form;
 * 4. no backslash;
 * 5. starts with `https://` or `http://` exactly (lower-case scheme, both slashes);
 * 6. no fragment (`#` anywhere);
 * 7. the authority (up to the first `/` or `?`) has no user info (`@`), and
 *    is a host with an optional port:
 *    - a DNS name: dot-separated labels of letters, digits and `-` (1 to 63
 *      characters, not starting or ending with `-`, no empty label, so no
 *      leading, trailing or double dot), at most 253 characters, no `*`;
 *      an `xn--` label must be valid punycode that round-trips;
 *    - or an IPv4 address of four decimal numbers 0 to 255 without leading
 *      zeros (a host whose last label is a number must be one);
 *    - or a bracketed IPv6 address in its canonical lower-case short form;
 *    - the port, when given, is 1 to 65535 without leading zeros;
 * 8. `http` only for the loopback hosts `localhost`, `127.0.0.1` and `[::1]`;
 * 9. path and query contain only RFC 3986 characters: letters, digits,
 *    `-._~!$&'()*+,;=:@/?` and `%XX` escapes with two hex digits; no `.` or
 *    `..` path segments (also not as `%2e`);
 * 10. `new URL(raw)` reads the same scheme, host (lower-cased) and port, and
 *     the same path.
 */
import { domainToASCII, domainToUnicode } from 'node:url';
import { isIPv6 } from 'node:net';

/** Longest callback URL accepted, in characters. */
export const MAX_CALLBACK_URL_LENGTH = 2048;

/** The only hosts for which `http` is allowed, as they must be written (the name case-insensitively). */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

const EXAMPLE = 'https://app.example.com/callback';

/**
 * A string as JSON shows it, with every character outside printable ASCII
 * escaped as `\uXXXX`, so that CR, LF, U+2028, C1 controls and the like can
 * never break a message, a log line or a terminal.
 */
export function quote(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Whitespace, control and invisible formatting characters, anywhere. */
const INVISIBLE = /[\s\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}]/u;
const NON_ASCII = /[^\x00-\x7f]/u;

const CHAR_NAMES: Record<number, string> = {
  0x00: 'NUL', 0x09: 'tab', 0x0a: 'line feed', 0x0b: 'vertical tab', 0x0c: 'form feed', 0x0d: 'carriage return',
  0x20: 'space', 0x7f: 'DEL', 0x85: 'next line', 0xa0: 'no-break space', 0x200b: 'zero width space',
  0x2028: 'line separator', 0x2029: 'paragraph separator', 0xfeff: 'byte order mark',
};

/** `U+000D (carriage return)`. */
function describeChar(c: string): string {
  const cp = c.codePointAt(0)!;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = CHAR_NAMES[cp];
  return name ? `${hex} (${name})` : hex;
}

/** The first match of `re` by code point: the character and its 1-based position. */
function firstChar(raw: string, re: RegExp): { char: string; at: number } | undefined {
  let at = 0;
  for (const char of raw) {
    at += 1;
    if (re.test(char)) return { char, at };
  }
  return undefined;
}

/** `%C3%A9` for "é"; undefined for a lone surrogate. */
function percentEncoded(c: string): string | undefined {
  try {
    return encodeURIComponent(c);
  } catch {
    return undefined;
  }
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/i;
const IPV4_PART = /^(?:0|[1-9]\d{0,2})$/;
const PATH_QUERY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;
const PATH_QUERY_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/;

/** Checks a host name that is not bracketed: a DNS name or a dotted-decimal IPv4 address. */
function checkHostName(host: string): string | undefined {
  if (host.includes('*')) {
    return `has a wildcard "*" in the host ${quote(host)}; register each host name explicitly`;
  }
  if (host.includes('%')) {
    return `has a percent-encoded host ${quote(host)}; write the host name in plain letters and digits`;
  }
  const bad = firstChar(host, /[^A-Za-z0-9.-]/);
  if (bad) {
    return `has the character ${quote(bad.char)} in the host ${quote(host)}, which may contain only letters, digits, "-" and "." (or be an IP address)`;
  }
  const labels = host.split('.');
  if (labels.some((l) => l === '')) {
    return `has an empty label in the host ${quote(host)}; remove the leading, trailing or doubled "."`;
  }
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!)) {
    const ok = labels.length === 4 && labels.every((p) => IPV4_PART.test(p) && Number(p) <= 255);
    if (!ok) {
      return `has the host ${quote(host)}, which ends in a number but is not an IPv4 address of four decimal numbers from 0 to 255 without leading zeros, such as 192.0.2.10`;
    }
    return undefined;
  }
  if (host.length > 253) return `has a host of ${host.length} characters; a host name is at most 253`;
  for (const label of labels) {
    if (label.length > 63) return `has a host label of ${label.length} characters (${quote(label.slice(0, 20))}...); a label is at most 63`;
    if (/^xn--/i.test(label)) {
      const unicode = domainToUnicode(label.toLowerCase());
      if (unicode === '' || !NON_ASCII.test(unicode) || domainToASCII(unicode) !== label.toLowerCase()) {
        return `has a host label ${quote(label)} that is not valid punycode; write the xn-- form of the international name exactly as an IDNA converter produces it`;
      }
    }
    if (label.startsWith('-') || label.endsWith('-')) {
      return `has a host label ${quote(label)} that starts or ends with "-"`;
    }
    if (!DNS_LABEL.test(label)) return `has a host label ${quote(label)} with characters other than letters, digits and "-"`;
  }
  return undefined;
}

/**
 * Checks one callback URL, exactly as it will be stored and compared: see
 * the rule at the top of this file.
 * @returns a message (one sentence, no final period, to follow the field
 *   name), or undefined when the URL is valid
 */
export function checkCallbackUrl(raw: string): string | undefined {
  if (raw.length === 0) return `must not be empty; use an absolute URL such as ${EXAMPLE}`;
  if (raw.length > MAX_CALLBACK_URL_LENGTH) {
    return `must be at most ${MAX_CALLBACK_URL_LENGTH} characters (got ${raw.length})`;
  }

  const invisible = firstChar(raw, INVISIBLE);
  if (invisible) {
    const chars = [...raw];
    const edge = invisible.at === 1 || invisible.at === chars.length;
    if (edge && /\s/.test(invisible.char)) {
      return `must not start or end with whitespace (found ${describeChar(invisible.char)} at character ${invisible.at}); remove it`;
    }
    return `must not contain whitespace, control or invisible characters (found ${describeChar(invisible.char)} at character ${invisible.at}); ` +
      'remove it, or percent-encode it if it really belongs in the path or query';
  }

  const nonAscii = firstChar(raw, NON_ASCII);
  if (nonAscii) {
    const hostPart = /^https?:\/\/(?:[^/?#@]*@)?([^/?#]*)/i.exec(raw)?.[1]?.replace(/:\d*$/, '');
    if (hostPart !== undefined && NON_ASCII.test(hostPart)) {
      const ascii = domainToASCII(hostPart);
      return `must be ASCII; write the international host name ${quote(hostPart)} in its xn-- (punycode) form` +
        (ascii !== '' ? ` ${quote(ascii)}` : '');
    }
    const enc = percentEncoded(nonAscii.char);
    return `must be ASCII (found ${describeChar(nonAscii.char)} at character ${nonAscii.at}); ` +
      (enc !== undefined ? `percent-encode it in the path or query as ${enc}` : 'remove it (it is not a valid character on its own)');
  }

  if (raw.includes('\\')) {
    return 'must not contain a backslash; use "/" in paths, or %5C if a backslash is really meant';
  }

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(raw)?.[1];
  if (scheme === undefined) {
    return `must be an absolute URL starting with "https://", such as ${EXAMPLE}`;
  }
  const lower = scheme.toLowerCase();
  if (lower !== 'https' && lower !== 'http') {
    return `must use https (got scheme ${quote(scheme)}); write an absolute URL such as ${EXAMPLE}`;
  }
  if (scheme !== lower) {
    return `must start with "${lower}://" in lower case (got ${quote(scheme)})`;
  }
  if (!raw.startsWith(`${scheme}://`)) {
    return `must start with "${scheme}://" (the "//" after "${scheme}:" is missing)`;
  }

  if (raw.includes('#')) return 'must not contain a fragment ("#"); remove the "#" and everything after it';

  const rest = raw.slice(scheme.length + 3);
  const authorityEnd = rest.search(/[/?]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const pathQuery = authorityEnd === -1 ? '' : rest.slice(authorityEnd);

  if (authority.includes('@')) {
    return 'must not contain user info ("user:password@" before the host); remove everything up to and including the "@"';
  }
  if (authority === '') return `must name a host after "${scheme}://", such as ${EXAMPLE}`;

  // Host and port.
  let host: string;
  let port: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return `has an IPv6 address ${quote(authority)} without the closing "]"`;
    host = authority.slice(0, close + 1);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      return `has ${quote(after)} after the IPv6 address ${quote(host)}, where only ":" and a port may follow`;
    }
    if (after !== '') port = after.slice(1);
    const address = host.slice(1, -1);
    if (!/^[0-9A-Fa-f:.]+$/.test(address) || !isIPv6(address)) {
      return `has an invalid IPv6 address ${quote(host)}; use only hex digits, ":" and "." inside the brackets, and no zone id`;
    }
  } else {
    const colons = authority.split(':').length - 1;
    if (colons > 1) {
      return `has more than one ":" in ${quote(authority)}; write an IPv6 address in brackets such as [2001:db8::1]`;
    }
    const i = authority.indexOf(':');
    host = i === -1 ? authority : authority.slice(0, i);
    if (i !== -1) port = authority.slice(i + 1);
    if (host === '') return `must name a host after "${scheme}://", such as ${EXAMPLE}`;
    const problem = checkHostName(host);
    if (problem) return problem;
  }
  if (port !== undefined) {
    if (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65535) {
      return `has an invalid port ${quote(port)}; use a number from 1 to 65535 without leading zeros`;
    }
  }

  const hostLower = host.toLowerCase();
  if (scheme === 'http' && !LOOPBACK_HOSTS.includes(hostLower)) {
    return `must use https; http is allowed only for localhost, 127.0.0.1 and [::1] (got host ${quote(host)})`;
  }

  // Path and query.
  if (!PATH_QUERY.test(pathQuery)) {
    const bad = firstChar(pathQuery, new RegExp(`[^${PATH_QUERY_CHAR.source.slice(1, -1)}]`))!;
    return `has the character ${quote(bad.char)} in its path or query, where only letters, digits, "-._~!$&'()*+,;=:@/?" ` +
      `and %XX escapes may appear; percent-encode it as ${percentEncoded(bad.char) ?? 'UTF-8'}`;
  }
  const badEscape = /%(?![0-9A-Fa-f]{2})/.exec(pathQuery);
  if (badEscape) {
    const shown = pathQuery.slice(badEscape.index, badEscape.index + 3);
    return `has an invalid percent-escape ${quote(shown)}; "%" must be followed by two hex digits, and a literal "%" is written %25`;
  }
  const q = pathQuery.indexOf('?');
  const path = q === -1 ? pathQuery : pathQuery.slice(0, q);
  const dot = path.split('/').find((seg) => ['.', '..'].includes(seg.replace(/%2e/gi, '.')));
  if (dot !== undefined) {
    return `has a ${quote(dot)} segment in its path; write the path it resolves to, without "." or ".." segments`;
  }

  // What the WHATWG parser (browsers) reads must be what was checked.
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `is not a URL that browsers accept; check the host ${quote(host)}`;
  }
  const defaultPort = scheme === 'https' ? '443' : '80';
  const expectedPort = port === undefined || port === defaultPort ? '' : port;
  if (url.protocol !== `${scheme}:` || url.hostname !== hostLower || url.port !== expectedPort) {
    return `is read differently by browsers (as host ${quote(url.host)}); write the host as ${quote(url.host)} if that is what you mean`;
  }
  if (url.pathname !== (path === '' ? '/' : path)) {
    return `is read differently by browsers (as path ${quote(url.pathname)}); write the path as ${quote(url.pathname)}`;
  }
  return undefined;
}
