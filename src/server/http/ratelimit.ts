/**
 * A token bucket per API token: `rate` requests per second, with bursts up
 * to `rate`. In memory, per process: the service is one process per
 * database, and a restart forgiving a burst is harmless.
 */

/** Default rate limit of `appreg serve`, requests per second per token. */
export const DEFAULT_RATE_LIMIT = 1000;

interface Bucket {
  tokens: number;
  at: number;
}

/** The outcome of one request against the limit. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Rate limits keyed by token id. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** @param rate requests per second per key; 0 turns limiting off */
  constructor(private readonly rate: number, private readonly clock: () => number = () => Date.now()) {}

  /** Takes one request from `key`'s bucket. */
  take(key: string): RateDecision {
    if (this.rate <= 0) return { allowed: true };
    const t = this.clock();
    const b = this.buckets.get(key) ?? { tokens: this.rate, at: t };
    b.tokens = Math.min(this.rate, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.buckets.set(key, b);
      this.sweep(t);
      return { allowed: true };
    }
    this.buckets.set(key, b);
    // Seconds until one whole request is available again, rounded up: Retry-After takes whole seconds.
    const wait = Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
    return { allowed: false, retryAfterSeconds: wait };
  }

  /** Forgets full buckets now and then, so idle tokens cost no memory. */
  private sweep(t: number): void {
    if (this.buckets.size < 10_000) return;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.rate >= this.rate) this.buckets.delete(k);
    }
  }
}
