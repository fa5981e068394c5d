/**
 * The limit on password guessing at the sign-in screen: at most `limit`
 * failed sign-ins per username (of a tenant) within a sliding window; past
 * that, every attempt for that username waits until the oldest failure
 * leaves the window, even with the right password.
 *
 * Attempts still being checked count as failures until they are decided:
 * the password check is slow on purpose (scrypt), and without this a burst
 * of guesses sent at once would all be checked before the first failure is
 * recorded. Kept per process, like the service's other limits.
 */

/** What {@link LoginGuard.begin} decided. */
export type GuardDecision =
  | { allowed: true; /** Call with the outcome once the password is checked. */ done(succeeded: boolean): void }
  | { allowed: false; retryAfterSeconds: number };

interface Entry {
  /** Times of failures within the window, oldest first. */
  failures: number[];
  /** Attempts begun and not yet decided. */
  pending: number;
}

/** Keys with no failures left are dropped once the map is this large. */
const SWEEP_AT = 10_000;

/** Failed sign-ins per key within a sliding window. */
export class LoginGuard {
  private readonly entries = new Map<string, Entry>();

  /**
   * @param limit failures allowed within the window (at least 1)
   * @param windowMs the window
   * @param clock milliseconds now (tests pass a fake one)
   */
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => number = () => Date.now(),
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`bug: LoginGuard limit must be a whole number of at least 1 (got ${limit})`);
  }

  /** Starts an attempt for `key`, or refuses it when the key has used up its failures. */
  begin(key: string): GuardDecision {
    const t = this.clock();
    const e = this.entry(key, t);
    if (e.failures.length + e.pending >= this.limit) {
      // With only pending attempts in the way, a second is enough to wait: they finish within it.
      const oldest = e.failures[0];
      const wait = oldest === undefined ? 1000 : oldest + this.windowMs - t;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) };
    }
    e.pending += 1;
    let decided = false;
    return {
      allowed: true,
      done: (succeeded: boolean) => {
        if (decided) return;
        decided = true;
        e.pending -= 1;
        if (!succeeded) e.failures.push(this.clock());
        this.entries.set(key, e);
        this.sweep();
      },
    };
  }

  /** The entry of `key` with failures older than the window dropped. */
  private entry(key: string, t: number): Entry {
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { failures: [], pending: 0 };
      this.entries.set(key, e);
    }
    while (e.failures.length > 0 && e.failures[0]! <= t - this.windowMs) e.failures.shift();
    return e;
  }

  private sweep(): void {
    if (this.entries.size < SWEEP_AT) return;
    const t = this.clock();
    for (const [k, e] of this.entries) {
      if (e.pending === 0 && e.failures.every((f) => f <= t - this.windowMs)) this.entries.delete(k);
    }
  }
}
