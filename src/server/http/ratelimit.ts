/**
 * Token buckets: `rate` requests per period (a second by default), with
 * bursts up to `rate`. Used per API token (requests per second) and per client
 * address (failed authentications per minute).
 *
 * In memory, per process. Several instances of the service on one
 * PostgreSQL database each keep their own buckets, so the effective limit of
 * a token across N instances is N × rate. A restart forgiving a burst is
 * harmless. No dependencies: `appreg serve` checks its flags with this
 * module without loading the service.
 */

/** Default rate limit of `appreg serve`, requests per second per token. */
export const DEFAULT_RATE_LIMIT = 1000;

/**
 * Default limit on failed authentications (401) per client address per
 * minute. Guessing a 256-bit token is hopeless anyway; this keeps a client
 * that tries from costing a database lookup per attempt, and makes the
 * attempts visible as 429s.
 */
export const DEFAULT_AUTH_FAILURE_LIMIT = 10;

interface Bucket {
  tokens: number;
  at: number;
}

/** The outcome of one request against the limit. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Buckets this size and larger are swept now and then. */
const SWEEP_AT = 10_000;

/** Rate limits keyed by a string (a token id, a client address). */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  /**
   * @param rate requests per period per key; 0 turns limiting off. A rate
   *   between 0 and 1 would never hold a whole request: refused (see {@link checkRateLimit}).
   * @param clock milliseconds now (tests pass a fake one)
   * @param periodMs the period `rate` is counted over; default one second
   */
  constructor(
    private readonly rate: number,
    private readonly clock: () => number = () => Date.now(),
    private readonly periodMs = 1000,
  ) {
    if (rate !== 0) checkRateLimit(rate, 'rate');
  }

  /** True when limiting is off. */
  get off(): boolean {
    return this.rate <= 0;
  }

  /** The bucket of `key`, refilled up to now (not stored). */
  private current(key: string, t: number): Bucket {
    const b = this.buckets.get(key);
    if (!b) return { tokens: this.rate, at: t };
    return { tokens: Math.min(this.rate, b.tokens + ((t - b.at) / this.periodMs) * this.rate), at: t };
  }

  /** Seconds until one whole request is available again, rounded up: Retry-After takes whole seconds. */
  private wait(b: Bucket): number {
    return Math.max(1, Math.ceil(((1 - b.tokens) * this.periodMs) / this.rate / 1000));
  }

  /** Takes one request from `key`'s bucket. */
  take(key: string): RateDecision {
    if (this.off) return { allowed: true };
    const t = this.clock();
    const b = this.current(key, t);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.buckets.set(key, b);
      this.sweep(t);
      return { allowed: true };
    }
    this.buckets.set(key, b);
    return { allowed: false, retryAfterSeconds: this.wait(b) };
  }

  /** Whether `key` could take a request now, without taking it. */
  peek(key: string): RateDecision {
    if (this.off || !this.buckets.has(key)) return { allowed: true };
    const b = this.current(key, this.clock());
    return b.tokens >= 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: this.wait(b) };
  }

  /**
   * Forgets full buckets once the map is large, at most once a period (a
   * sweep walks the whole map), so idle keys cost no memory.
   */
  private sweep(t: number): void {
    if (this.buckets.size < SWEEP_AT || t - this.lastSweep < this.periodMs) return;
    this.lastSweep = t;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / this.periodMs) * this.rate >= this.rate) this.buckets.delete(k);
    }
  }
}

/**
 * Checks a rate: a finite number, 0 (off) or at least 1. Between 0 and 1 a
 * bucket never holds one whole request, so every request would be refused
 * for good.
 * @param name how the error names the value (`--rate-limit`, `rateLimit`)
 * @throws Error naming it and saying what to pass
 */
export function checkRateLimit(value: number, name: string, per = 'requests per second per token'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be ${per}: 0 (off) or a number of at least 1 (got ${JSON.stringify(String(value))})`);
  }
  if (value > 0 && value < 1) {
    throw new Error(
      `${name} must be 0 (off) or at least 1 (${per}); got ${value}, which would refuse every request for good ` +
        '(a bucket never fills up to one whole request). Pass 1 or more, or 0 to switch the limit off.',
    );
  }
  return value;
}

/**
 * True for a loopback address (127.0.0.0/8, ::1, and IPv4-mapped 127.x).
 * A reverse proxy on the same host makes every client arrive from one of
 * these, so a per-address limit on them would let one client's failures
 * lock out every other client.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = /^(?:::ffff:)?(\d+)\.\d+\.\d+\.\d+$/i.exec(address);
  if (v4) return v4[1] === '127';
  return address === '::1' || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(address);
}

/**
 * The key of a client address for per-address limits. IPv4 (and
 * IPv4-mapped IPv6) addresses count alone; an IPv6 address counts with its
 * whole /64, since one host usually holds a whole /64 and could otherwise
 * step past the limit by changing the interface part.
 */
export function clientAddressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const zoneless = address.split('%')[0]!.toLowerCase();
  const [head = '', tail = ''] = zoneless.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const groups = zoneless.includes('::')
    ? [...headParts, ...Array<string>(Math.max(0, 8 - headParts.length - tailParts.length)).fill('0'), ...tailParts]
    : headParts;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
