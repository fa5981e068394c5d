/**
 * When and how long to wait before trying a call again. Pure functions, so
 * the policy can be tested without a network.
 */

/** Retry settings of a client. Every field has a default. */
export interface RetryOptions {
  /** Attempts in all, the first included; 1 turns retries off. Default 5. */
  maxAttempts?: number;
  /** First backoff ceiling in milliseconds; doubles with each retry. Default 250. */
  baseDelayMs?: number;
  /** Largest backoff ceiling in milliseconds. Default 10 000. */
  maxDelayMs?: number;
  /** Longest wait a `Retry-After` header may ask for, in milliseconds; longer asks are cut to this. Default 60 000. */
  maxRetryAfterMs?: number;
  /** Called before each wait, e.g. to log "retrying after 429". */
  onRetry?: (event: RetryEvent) => void;
}

/** What {@link RetryOptions.onRetry} is told before a retry. */
export interface RetryEvent {
  /** HTTP method of the call. */
  method: string;
  /** Path of the call. */
  path: string;
  /** The attempt that just failed (1 for the first). */
  attempt: number;
  /** Milliseconds the client waits before the next attempt. */
  delayMs: number;
  /** Why: an HTTP status (`429`, `503`), or an error code (`ECONNRESET`, `TIMEOUT`). */
  reason: string;
}

/** {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<Omit<RetryOptions, 'onRetry'>> & Pick<RetryOptions, 'onRetry'>;

/** The defaults: about 4 s of backoff over 5 attempts, enough for a service restart. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
};

/** Fills in the defaults and rejects settings that cannot work. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const p: RetryPolicy = { ...DEFAULT_RETRY };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) {
    throw new RangeError(`retry.maxAttempts must be an integer of at least 1 (got ${p.maxAttempts})`);
  }
  for (const k of ['baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
    if (!Number.isFinite(p[k]) || p[k] < 0) throw new RangeError(`retry.${k} must be a number of at least 0 (got ${p[k]})`);
  }
  return p;
}

/**
 * Exponential backoff with full jitter: a uniform wait between 0 and
 * min(maxDelayMs, baseDelayMs * 2^(attempt-1)). Full jitter spreads clients
 * that failed together (one service restart) instead of waking them in step.
 * @param attempt the attempt that just failed, 1 for the first
 * @param random a source of numbers in [0, 1), replaceable in tests
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Reads a `Retry-After` header: delay-seconds (`120`) or an HTTP date.
 * @returns milliseconds to wait (0 for a date in the past), or undefined when absent or unreadable
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse also takes ISO strings and bare numbers like "1.5"; only an
  // HTTP date (it always names the weekday and GMT) is allowed here.
  if (!/GMT$/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * How long to wait before the next attempt: what the service asked for in
 * `Retry-After` (cut to maxRetryAfterMs) when it said, else the jittered backoff.
 */
export function retryDelay(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  return backoffDelay(attempt, policy, random);
}

/**
 * Transport error codes after which the same request may be sent again. A
 * TLS or DNS "not found" failure is left out: it will fail the same way.
 */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  // axios: the answer's body stream was cut (the only use here, as the
  // client sets no maxContentLength and parses bodies itself).
  'ERR_BAD_RESPONSE',
]);

/** True when a transport error with this code may go away on its own. */
export function isRetryableCode(code: string): boolean {
  // HPE_*: Node's HTTP parser saw a garbled or cut answer.
  return RETRYABLE_CODES.has(code) || code.startsWith('HPE_');
}

/**
 * True when the request never reached the service, so sending it again is
 * safe whatever its method: the connection was refused or the name did not
 * resolve (yet).
 */
export function neverSent(code: string): boolean {
  return code === 'ECONNREFUSED' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}

/**
 * True when a request may be sent again after an unknown outcome: reads and
 * the idempotent writes (PUT, DELETE), a PATCH guarded by If-Match (a replay
 * of an applied one fails with 412 instead of applying twice), and a POST
 * with an Idempotency-Key (the service replays the first answer).
 */
export function isReplaySafe(method: string, headers: Readonly<Record<string, string>>): boolean {
  const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'PUT':
    case 'DELETE':
      return true;
    case 'PATCH':
      return has('if-match');
    case 'POST':
      return has('idempotency-key');
    default:
      return false;
  }
}
