/** Password hashing: scrypt with its parameters in the stored form, checked in constant time. */
import { hashPassword, passwordProblem, verifyPassword } from '../../src/server/passwords';

describe('passwords', () => {
  it('stores a salted scrypt hash that the password matches and nothing else does', async () => {
    const a = await hashPassword('tr0ub4dor & 3');
    const b = await hashPassword('tr0ub4dor & 3');
    expect(a).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(a).not.toBe(b); // a fresh salt each time
    expect(await verifyPassword('tr0ub4dor & 3', a)).toBe(true);
    expect(await verifyPassword('tr0ub4dor & 3', b)).toBe(true);
    expect(await verifyPassword('tr0ub4dor & 4', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
    // The stored form is not a password.
    expect(await verifyPassword(a, a)).toBe(false);
  });

  it('matches the same text typed in either Unicode normal form', async () => {
    const composed = 'caf\u00e9 au lait';
    const decomposed = 'cafe\u0301 au lait';
    expect(await verifyPassword(decomposed, await hashPassword(composed))).toBe(true);
  });

  it('matches nothing against a damaged or foreign stored value, and never asks for huge parameters', async () => {
    const good = await hashPassword('long enough');
    const parts = good.split('$');
    const variants = [
      '',
      'plain text',
      parts.slice(0, 5).join('$'),
      ['bcrypt', ...parts.slice(1)].join('$'),
      ['scrypt', '30', ...parts.slice(2)].join('$'), // N = 2^30: refused, not computed
      ['scrypt', '15', '8', '1', '', parts[5]].join('$'),
      ['scrypt', '15', '8', '1', parts[4], 'c2hvcnQ'].join('$'),
    ];
    for (const v of variants) expect(await verifyPassword('long enough', v)).toBe(false);
  });

  it('asks for 8 to 1024 characters and nothing else', () => {
    expect(passwordProblem('1234567')).toMatch(/at least 8/);
    expect(passwordProblem('12345678')).toBeUndefined();
    expect(passwordProblem('😀'.repeat(8))).toBeUndefined(); // characters, not UTF-16 units
    expect(passwordProblem('x'.repeat(1025))).toMatch(/at most 1024/);
  });
});
