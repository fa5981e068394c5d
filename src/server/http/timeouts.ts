/**
 * How long the service waits for a client, and for itself when it stops.
 *
 * A client that opens a connection and then sends nothing, sends its headers
 * a byte at a time, or promises a body it never sends ("slowloris") holds a
 * socket and memory for as long as the server lets it. Node's own defaults
 * (5 minutes for a request, 1 minute for headers, checked only every 30 s)
 * let a handful of such clients hold the service for minutes; these
 * defaults cut any of them off within 30 s.
 *
 * No dependencies: `appreg serve --help` and the flag checks load this
 * without loading the service.
 */

/**
 * Default time for a whole request (headers and body) to arrive, in ms. The
 * largest body (256 KiB) arrives in it at 13 KiB/s; with the checking
 * interval on top, a stalled client is gone within 21 s.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;
/** Default time for the request headers to arrive, in ms (at most the request timeout). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/**
 * Default time an idle keep-alive connection stays open after a response, in
 * ms. Clients reuse a connection within it; undici (fetch) gives up on its
 * side after 4 s by default.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Default grace period of `close()` for requests in flight, in ms; then their connections are cut. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
/** Longest accepted value of any of these, in ms (a day): longer is "off" in disguise. */
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** The timeouts the service runs with, all in milliseconds. */
export interface Timeouts {
  /** A whole request (headers and body) must arrive within this; else 408 and the connection is closed. */
  requestMs: number;
  /** The request headers must arrive within this; else 408 and the connection is closed. */
  headersMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs: number;
  /** close() waits this long for requests in flight, then closes their connections. */
  shutdownMs: number;
}

/** Timeouts as given (milliseconds); missing ones take the defaults. */
export type TimeoutInput = Partial<Timeouts>;

/** How errors name each timeout: an option field (`requestTimeoutMs`) or a flag (`--request-timeout`), and its unit. */
export type TimeoutNames = Record<keyof Timeouts, string> & { unit: 's' | 'ms' };

/** The names of {@link startService}'s options, for its error messages. */
export const OPTION_NAMES: TimeoutNames = {
  requestMs: 'requestTimeoutMs',
  headersMs: 'headersTimeoutMs',
  keepAliveMs: 'keepAliveTimeoutMs',
  shutdownMs: 'shutdownTimeoutMs',
  unit: 'ms',
};

/** The names of `appreg serve`'s flags, for its error messages. */
export const FLAG_NAMES: TimeoutNames = {
  requestMs: '--request-timeout',
  headersMs: '--headers-timeout',
  keepAliveMs: '--keep-alive-timeout',
  shutdownMs: '--shutdown-timeout',
  unit: 's',
};

function shown(ms: number, names: TimeoutNames): string {
  return names.unit === 's' ? `${ms / 1000} s` : `${ms} ms`;
}

function check(key: keyof Timeouts, value: number | undefined, fallback: number, zeroOk: boolean, names: TimeoutNames): number {
  if (value === undefined) return fallback;
  const max = shown(MAX_TIMEOUT_MS, names);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroOk) || value > MAX_TIMEOUT_MS) {
    const got = typeof value === 'number' && Number.isFinite(value) ? shown(value, names) : JSON.stringify(String(value));
    const low = zeroOk ? '0' : `more than 0 ${names.unit}`;
    throw new Error(`${names[key]} must be a time from ${low} to ${max} (got ${got})`);
  }
  // Node wants whole milliseconds; rounding up keeps a tiny value from becoming 0 ("off").
  return Math.ceil(value);
}

/**
 * Validates timeouts and fills in the defaults. Request, headers and
 * keep-alive timeouts must be above 0 (0 would switch Node's protection off);
 * the shutdown grace may be 0 (cut requests in flight at once).
 * @param names how the error messages name the values
 * @throws Error naming the option or flag and what to change
 */
export function resolveTimeouts(input: TimeoutInput = {}, names: TimeoutNames = OPTION_NAMES): Timeouts {
  const requestMs = check('requestMs', input.requestMs, DEFAULT_REQUEST_TIMEOUT_MS, false, names);
  const headersMs = check('headersMs', input.headersMs, Math.min(DEFAULT_HEADERS_TIMEOUT_MS, requestMs), false, names);
  const keepAliveMs = check('keepAliveMs', input.keepAliveMs, DEFAULT_KEEP_ALIVE_TIMEOUT_MS, false, names);
  const shutdownMs = check('shutdownMs', input.shutdownMs, DEFAULT_SHUTDOWN_TIMEOUT_MS, true, names);
  if (headersMs > requestMs) {
    throw new Error(
      `${names.headersMs} (${shown(headersMs, names)}) must not be longer than ${names.requestMs} (${shown(requestMs, names)}): ` +
        'the headers are part of the request. Lower the first or raise the second.',
    );
  }
  return { requestMs, headersMs, keepAliveMs, shutdownMs };
}

/**
 * How often Node looks for requests over their timeout, in ms. Node's default
 * is 30 s, which would let a stalled client stay up to 30 s past its timeout;
 * a quarter of the shortest timeout, between 50 ms and 1 s, keeps the overrun
 * small at the cost of a cheap timer.
 */
export function checkingIntervalMs(t: Pick<Timeouts, 'requestMs' | 'headersMs'>): number {
  return Math.min(1000, Math.max(50, Math.floor(Math.min(t.requestMs, t.headersMs) / 4)));
}
