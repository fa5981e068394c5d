import { backoffDelay, isReplaySafe, parseRetryAfter, retryDelay, retryPolicy } from '../../src/client/retry';

describe('retry policy', () => {
  const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 });

  it('backs off exponentially with full jitter, up to the cap', () => {
    expect(backoffDelay(1, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(2, policy, () => 0.999)).toBe(199);
    expect(backoffDelay(3, policy, () => 0.999)).toBe(399);
    expect(backoffDelay(5, policy, () => 0.999)).toBe(999); // 1600 capped to 1000
    expect(backoffDelay(50, policy, () => 0.5)).toBe(500);
    // Full jitter: the wait may be anything from zero.
    expect(backoffDelay(4, policy, () => 0)).toBe(0);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('Wed, 21 Oct 2025 07:28:00 GMT');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2025 07:28:02 GMT', now)).toBe(2000);
    expect(parseRetryAfter('Wed, 21 Oct 2025 07:00:00 GMT', now)).toBe(0); // in the past
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('2025-10-21T07:28:02Z', now)).toBeUndefined();
  });

  it('waits what Retry-After asks, cut to maxRetryAfterMs, and backs off without it', () => {
    expect(retryDelay(1, policy, 2000, () => 0.5)).toBe(2000);
    expect(retryDelay(1, policy, 3_600_000, () => 0.5)).toBe(5000);
    expect(retryDelay(2, policy, undefined, () => 0.5)).toBe(100);
  });

  it('fills defaults and refuses settings that cannot work', () => {
    expect(retryPolicy()).toMatchObject({ maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 });
    expect(retryPolicy({ maxAttempts: undefined }).maxAttempts).toBe(5);
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => retryPolicy({ maxAttempts: 1.5 })).toThrow(/maxAttempts/);
    expect(() => retryPolicy({ baseDelayMs: -1 })).toThrow(/baseDelayMs/);
    expect(() => retryPolicy({ maxDelayMs: Number.NaN })).toThrow(/maxDelayMs/);
  });

  it('replays only requests whose replay cannot do the work twice', () => {
    expect(isReplaySafe('GET', {})).toBe(true);
    expect(isReplaySafe('PUT', {})).toBe(true);
    expect(isReplaySafe('DELETE', {})).toBe(true);
    expect(isReplaySafe('PATCH', {})).toBe(false);
    expect(isReplaySafe('PATCH', { 'If-Match': '"3"' })).toBe(true);
    expect(isReplaySafe('POST', {})).toBe(false);
    expect(isReplaySafe('POST', { 'idempotency-key': 'k' })).toBe(true);
  });
});
