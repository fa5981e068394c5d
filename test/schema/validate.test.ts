import fc from 'fast-check';
import { validateReadOnly, type ConfigObject } from '../../src/framework/validate';
import { validateProviderConfig } from '../../src/provider/config-validation';
import { consentTargetDiagnostics, validateAppConsentConfig, validateLookupConfig, validateOauthClientConfig } from '../../src/resources/validate';
import { tenantOauthSetting } from '../../src/schema';
import { quote } from '../../src/rules';
import { Unknown, type Diagnostic, type TfValue } from '../../src/tfplugin/types';

const word = fc.stringMatching(/^[A-Za-z0-9?!]{1,12}$/);
const validName = fc.array(word, { minLength: 1, maxLength: 5 }).map((ws) => ws.join(' ')).filter((n) => n.length <= 100);
// Callback URLs valid under the callback URL rule (src/rules/callback-url.ts). Labels never start
// "xn--" at random: a label like "xn--" is punycode, and an invalid one is no host at all (the
// WHATWG parser rejects "https://xn--.io/"); valid punycode comes from a fixed list.
const label = fc.stringMatching(/^[a-z][a-z0-9]{0,4}(-[a-z0-9]{1,5})?$/);
const host = fc.oneof(
  fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'example', 'io', 'Example')).map(([ls, tld]) => [...ls, tld].join('.')),
  fc.constantFrom('xn--bcher-kva.example', 'xn--55qx5d.cn', '192.0.2.10', '[2001:db8::1]', 'localhost'),
);
const port = fc.option(fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`), { nil: '' });
// Path and query characters of RFC 3986 (no "%", which only starts an escape), and valid escapes.
const pchar = fc.oneof(
  fc.constantFrom(...'abcXYZ019-._~!$&\'()*+,;=:@'.split('')),
  fc.constantFrom('%20', '%C3%A9', '%2F', '%25', '%7b'),
);
// Segments that are not "." or ".." (a path with those is refused: browsers resolve them away).
const segment = fc.array(pchar, { maxLength: 6 }).map((cs) => cs.join('')).filter((seg) => !['.', '..'].includes(seg));
const path = fc.array(segment, { maxLength: 4 }).map((segs) => segs.map((seg) => `/${seg}`).join(''));
const query = fc.option(fc.array(fc.oneof(pchar, fc.constantFrom('/', '?')), { maxLength: 10 }).map((cs) => `?${cs.join('')}`), { nil: '' });
const validUrl = fc.oneof(
  fc.tuple(host, port, path, query).map(([h, p, pa, q]) => `https://${h}${p}${pa}${q}`),
  fc.tuple(fc.constantFrom('localhost', '127.0.0.1', '[::1]'), port, path, query).map(([h, p, pa, q]) => `http://${h}${p}${pa}${q}`),
);
const validUrls = fc.uniqueArray(validUrl, { minLength: 1, maxLength: 60 });

/** A valid appreg_oauth_client configuration, every attribute present as Terraform sends it. */
const validClient = fc
  .record({
    group_id: fc.constant('grp_1'),
    name: validName,
    callback_urls: validUrls,
    scope: fc.constantFrom('group', 'organization'),
    grant_types: fc.option(fc.subarray(['authorization_code', 'device_code'], { minLength: 1 }), { nil: null }),
    public_client: fc.option(fc.boolean(), { nil: null }),
    require_pkce: fc.option(fc.boolean(), { nil: null }),
    enabled: fc.option(fc.boolean(), { nil: null }),
    description: fc.option(fc.string({ maxLength: 1000 }), { nil: null }),
  })
  .map((c): ConfigObject => ({
    ...c,
    // public implies PKCE; a generator that breaks it would not be "valid".
    require_pkce: c.public_client === true && c.require_pkce === false ? true : c.require_pkce,
    rotation_triggers: null,
    id: null, client_id: null, client_secret: null, secret_version: null, created_at: null,
  }));

const paths = (ds: Diagnostic[]): string[] => ds.map((d) => (d.attribute ?? []).map(String).join('.'));

describe('appreg_oauth_client plan-time validation', () => {
  it('accepts every valid configuration', () => {
    fc.assert(fc.property(validClient, (config) => {
      expect(validateOauthClientConfig(config, { deviceGrantAllowed: true })).toEqual([]);
    }));
  });

  it('rejects a name with punctuation other than ? and !, at path name', () => {
    const badChar = fc.constantFrom('.', ',', '-', '_', '@', '#', '/', ':', ';', '"', "'", '(', ')');
    fc.assert(fc.property(validClient, badChar, fc.nat(), (config, c, at) => {
      const name = config.name as string;
      const i = at % (name.length + 1);
      const ds = validateOauthClientConfig({ ...config, name: name.slice(0, i) + c + name.slice(i) });
      expect(paths(ds)).toEqual(['name']);
      expect(ds[0]!.detail).toMatch(/letters, digits/);
    }));
  });

  it('rejects double, leading and trailing spaces and an empty or too long name', () => {
    for (const name of ['two  spaces', ' lead', 'trail ', '', 'a'.repeat(101)]) {
      expect(paths(validateOauthClientConfig({ ...base(), name }))).toEqual(['name']);
    }
  });

  it('rejects callback URLs that are not absolute https (http only on loopback), with the URL in the detail', () => {
    const bad = fc.constantFrom(
      'http://app.example.com/cb', 'ftp://app.example.com/cb', '/relative/cb', 'not a url',
      'https://app.example.com/cb#frag', 'https://user:pw@app.example.com/cb', 'https://xn--.io/cb', `https://a.example/${'x'.repeat(2048)}`,
    );
    fc.assert(fc.property(validClient, bad, (config, url) => {
      const ds = validateOauthClientConfig({ ...config, callback_urls: [...(config.callback_urls as string[]).slice(0, 59), url] });
      expect(paths(ds)).toEqual(['callback_urls']);
      expect(ds[0]!.summary).toBe('Invalid callback URLs');
      expect(ds[0]!.detail).toContain(JSON.stringify(url.slice(0, 40)).slice(0, 20));
    }));
  });

  it('rejects a valid callback URL with a whitespace, control, backslash or "#" character inserted anywhere, showing the value escaped', () => {
    const hostile = fc.constantFrom(' ', '\t', '\r', '\n', '\r\n', '\u0000', '\u007f', '\u0085', '\u00a0', '\u2028', '\u200b', '\\', '#');
    fc.assert(fc.property(validClient, hostile, fc.nat(), (config, c, at) => {
      const urls = config.callback_urls as string[];
      const url = urls[0]!;
      const i = at % (url.length + 1);
      const bad = url.slice(0, i) + c + url.slice(i);
      const ds = validateOauthClientConfig({ ...config, callback_urls: [bad, ...urls.slice(1)] });
      expect(paths(ds)).toEqual(['callback_urls']);
      expect(ds[0]!.detail!.startsWith(`callback_urls element ${quote(bad)} `)).toBe(true);
      expect(ds[0]!.detail).toMatch(/^[\x20-\x7e]+$/);
    }));
  });

  it('rejects an empty set and more than 60 callback URLs', () => {
    expect(paths(validateOauthClientConfig({ ...base(), callback_urls: [] }))).toEqual(['callback_urls']);
    const many = Array.from({ length: 61 }, (_, i) => `https://app.example.com/cb${i}`);
    const ds = validateOauthClientConfig({ ...base(), callback_urls: many });
    expect(paths(ds)).toEqual(['callback_urls']);
    expect(ds[0]!.detail).toMatch(/at most 60/);
  });

  it('rejects an unknown scope and an unknown grant type', () => {
    expect(paths(validateOauthClientConfig({ ...base(), scope: 'tenant' }))).toEqual(['scope']);
    expect(paths(validateOauthClientConfig({ ...base(), grant_types: ['implicit'] }))).toEqual(['grant_types']);
  });

  it('rejects a public client that turns PKCE off, at path require_pkce', () => {
    fc.assert(fc.property(validClient, (config) => {
      const ds = validateOauthClientConfig({ ...config, public_client: true, require_pkce: false });
      expect(paths(ds)).toEqual(['require_pkce']);
      expect(ds[0]!.summary).toBe('Public client requires PKCE');
    }));
    // Leaving require_pkce unset on a public client is fine: it is planned true.
    expect(validateOauthClientConfig({ ...base(), public_client: true, require_pkce: null })).toEqual([]);
  });

  it('rejects the device grant when the tenant uses SSO, and only then', () => {
    const config = { ...base(), grant_types: ['device_code'] };
    expect(paths(validateOauthClientConfig(config, { deviceGrantAllowed: false }))).toEqual(['grant_types']);
    expect(validateOauthClientConfig(config, { deviceGrantAllowed: true })).toEqual([]);
    expect(validateOauthClientConfig(config, {})).toEqual([]);
  });

  it('reports every problem at once', () => {
    const ds = validateOauthClientConfig({
      ...base(), name: 'bad.name', callback_urls: ['http://x.example'], scope: 'x', public_client: true, require_pkce: false,
    });
    expect(paths(ds).sort()).toEqual(['callback_urls', 'name', 'require_pkce', 'scope']);
    for (const d of ds) expect(d.severity).toBe('error');
  });

  it('skips values Terraform does not know yet, and still counts unknown callback URLs', () => {
    const u = Unknown.value;
    expect(validateOauthClientConfig({ ...base(), name: u, callback_urls: u, scope: u, grant_types: u, public_client: u, require_pkce: u })).toEqual([]);
    expect(validateOauthClientConfig({ ...base(), callback_urls: ['https://a.example/cb', u] })).toEqual([]);
    const many: TfValue[] = Array.from({ length: 61 }, () => u);
    expect(paths(validateOauthClientConfig({ ...base(), callback_urls: many }))).toEqual(['callback_urls']);
  });
});

describe('appreg_app_consent plan-time validation', () => {
  const consent = { group_id: 'grp_b', app_id: 'app_1', id: null, created_at: null };

  it('accepts an organization-scoped app of another group', () => {
    expect(validateAppConsentConfig(consent)).toEqual([]);
    expect(consentTargetDiagnostics(consent, { id: 'app_1', scope: 'organization', group_id: 'grp_a' })).toEqual([]);
  });

  it('rejects a group-scoped app, the group\'s own app, and an app it cannot see, at path app_id', () => {
    const groupScoped = consentTargetDiagnostics(consent, { id: 'app_1', scope: 'group', group_id: 'grp_a' });
    expect(paths(groupScoped)).toEqual(['app_id']);
    expect(groupScoped[0]!.detail).toMatch(/only organization-scoped apps/);
    const own = consentTargetDiagnostics(consent, { id: 'app_1', scope: 'organization', group_id: 'grp_b' });
    expect(own[0]!.summary).toBe('Consent to own app');
    expect(paths(consentTargetDiagnostics(consent, null))).toEqual(['app_id']);
  });

  it('rejects ids with a slash or empty ids', () => {
    expect(paths(validateAppConsentConfig({ ...consent, app_id: 'a/b', group_id: '' })).sort()).toEqual(['app_id', 'group_id']);
  });
});

describe('provider and data source validation', () => {
  it('rejects a provider endpoint that is not an http(s) URL', () => {
    expect(paths(validateProviderConfig({ endpoint: 'ftp://x', token: null }))).toEqual(['endpoint']);
    expect(paths(validateProviderConfig({ endpoint: 'localhost:8787', token: null }))).toEqual(['endpoint']);
    expect(validateProviderConfig({ endpoint: 'http://127.0.0.1:8787', token: 'x' })).toEqual([]);
  });

  it('rejects an empty lookup name', () => {
    expect(paths(validateLookupConfig({ name: ' ', id: null }))).toEqual(['name']);
    expect(validateLookupConfig({ name: 'platform', id: null })).toEqual([]);
  });
});

function base(): ConfigObject {
  return {
    group_id: 'grp_1', name: 'Billing Portal', callback_urls: ['https://billing.example.com/cb'], scope: 'group',
    grant_types: null, public_client: null, require_pkce: null, enabled: null, description: null,
    rotation_triggers: null, id: null, client_id: null, client_secret: null, secret_version: null, created_at: null,
  };
}

describe('read-only attributes', () => {
  it('rejects a configured computed-only attribute, naming it', () => {
    const ds = validateReadOnly(tenantOauthSetting, { id: null, oauth_enabled: true, sso_enabled: true, device_grant_allowed: null });
    expect(ds.map((d) => d.attribute)).toEqual([['sso_enabled']]);
    expect(ds[0]!.detail).toMatch(/cannot be configured in appreg_tenant_oauth_setting/);
    expect(validateReadOnly(tenantOauthSetting, { id: null, oauth_enabled: true, sso_enabled: null, device_grant_allowed: null })).toEqual([]);
  });
});
