/** The sealing of stored replays and the shape of ids and credentials. */
import { hashCredential, isId, newClientSecret, newId, newToken, open, seal } from '../../src/server/crypto';

describe('seal/open (HKDF-SHA256 + AES-256-GCM)', () => {
  it('opens with the same key and AAD, and never shows the plaintext in the sealed form', () => {
    const secret = newClientSecret();
    const sealed = seal('idem-key-1', 'aad', JSON.stringify({ client_secret: secret }));
    expect(sealed).not.toContain(secret);
    expect(JSON.parse(open('idem-key-1', 'aad', sealed))).toEqual({ client_secret: secret });
  });

  it('refuses another key, another AAD, or tampered data', () => {
    const sealed = seal('idem-key-1', 'aad', 'plain');
    expect(() => open('idem-key-2', 'aad', sealed)).toThrow();
    expect(() => open('idem-key-1', 'other', sealed)).toThrow();
    const env = JSON.parse(sealed) as { data: string };
    const bytes = Buffer.from(env.data, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    expect(() => open('idem-key-1', 'aad', JSON.stringify({ ...env, data: bytes.toString('base64') }))).toThrow();
  });

  it('uses a fresh salt and IV every time', () => {
    expect(seal('k', 'a', 'same')).not.toEqual(seal('k', 'a', 'same'));
  });
});

describe('ids and credentials', () => {
  it('ids are opaque, prefixed, without "/", and recognised by shape', () => {
    const id = newId('app');
    expect(id).toMatch(/^app_[0-9a-z]{26}$/);
    expect(isId('app', id)).toBe(true);
    expect(isId('grp', id)).toBe(false);
    expect(isId('app', `${id}x`)).toBe(false);
    expect(new Set(Array.from({ length: 1000 }, () => newId('app'))).size).toBe(1000);
  });

  it('tokens and secrets are long and random, and stored as a SHA-256', () => {
    const t = newToken();
    expect(t.length).toBeGreaterThanOrEqual(40);
    expect(newToken()).not.toEqual(t);
    expect(newClientSecret()).not.toEqual(newClientSecret());
    expect(hashCredential(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashCredential(t)).not.toEqual(hashCredential(`${t}x`));
  });
});
