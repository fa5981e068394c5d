/**
 * The password-guessing limit of the sign-in screen (src/server/oidc/guard.ts),
 * with a fake clock: what a person sees after too many wrong passwords, how
 * long they wait, and that guesses sent all at once are limited too. The
 * same limit over real HTTP is in signin-security.test.ts.
 */
import { LoginGuard } from '../../src/server/oidc/guard';

function guard(limit = 3, windowMs = 60_000): { g: LoginGuard; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { g: new LoginGuard(limit, windowMs, () => clock.t), clock };
}

function fail(g: LoginGuard, key: string): void {
  const d = g.begin(key);
  if (!d.allowed) throw new Error(`expected an attempt for ${key} to be allowed`);
  d.done(false);
}

describe('LoginGuard', () => {
  it('refuses a username after `limit` failures within the window, even for the right password, until the oldest failure ages out', () => {
    const { g, clock } = guard(3);
    fail(g, 'acme/ann');
    clock.t += 10_000;
    fail(g, 'acme/ann');
    clock.t += 10_000;
    fail(g, 'acme/ann');
    const refused = g.begin('acme/ann');
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 40 });
    clock.t += 39_000;
    expect(g.begin('acme/ann').allowed).toBe(false);
    clock.t += 1_000;
    // The first failure has left the window: one attempt is free again.
    const again = g.begin('acme/ann');
    expect(again.allowed).toBe(true);
  });

  it('keeps usernames apart', () => {
    const { g } = guard(2);
    fail(g, 'acme/ann');
    fail(g, 'acme/ann');
    expect(g.begin('acme/ann').allowed).toBe(false);
    expect(g.begin('acme/bob').allowed).toBe(true);
  });

  it('does not count successful sign-ins', () => {
    const { g } = guard(2);
    for (let i = 0; i < 5; i++) {
      const d = g.begin('acme/ann');
      if (!d.allowed) throw new Error('refused a person who keeps signing in correctly');
      d.done(true);
    }
    fail(g, 'acme/ann');
    expect(g.begin('acme/ann').allowed).toBe(true);
  });

  it('counts attempts still being checked, so a burst of guesses sent at once is limited as it arrives', () => {
    const { g } = guard(3);
    const burst = Array.from({ length: 10 }, () => g.begin('acme/ann'));
    expect(burst.filter((d) => d.allowed)).toHaveLength(3);
    const refused = burst.find((d) => !d.allowed);
    // Only pending attempts stand in the way: they are decided within a second.
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1 });
    for (const d of burst) if (d.allowed) d.done(false);
    expect(g.begin('acme/ann').allowed).toBe(false);
  });

  it('counts an attempt once even when told its outcome twice', () => {
    const { g } = guard(2);
    const d = g.begin('acme/ann');
    if (!d.allowed) throw new Error('refused the first attempt');
    d.done(false);
    d.done(false);
    expect(g.begin('acme/ann').allowed).toBe(true);
  });

  it('refuses a limit that would lock everyone out', () => {
    expect(() => new LoginGuard(0, 60_000)).toThrow(/at least 1/);
  });
});
