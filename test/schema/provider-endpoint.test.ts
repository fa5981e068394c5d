/**
 * The provider refuses a plain http endpoint on a host that is not loopback
 * unless `allow_insecure_http` (or APPREG_ALLOW_INSECURE_HTTP) says so: the
 * bearer token goes with every request and client secrets come back from
 * create and rotate, so over plain http to another host both cross the
 * network in clear. Checked at ValidateProviderConfig for an endpoint in the
 * provider block and again at ConfigureProvider, where APPREG_ENDPOINT is
 * resolved.
 */
import fc from 'fast-check';
import { AppregProvider } from '../../src/provider/provider';
import type { ConfigObject } from '../../src/framework/validate';
import { checkProviderEndpoint, isLoopbackHostname, parseAllowInsecureHttpEnv, validateProviderConfig } from '../../src/provider/config-validation';
import { providerConfig, type AttributeSpec } from '../../src/schema';
import { Unknown, type Diagnostic } from '../../src/tfplugin/types';

const cfg = (over: ConfigObject = {}): ConfigObject => ({ endpoint: null, token: null, allow_insecure_http: null, ...over });
const paths = (ds: Diagnostic[]): string[] => ds.map((d) => (d.attribute ?? []).map(String).join('.'));
const insecure = (ds: Diagnostic[]): Diagnostic[] => ds.filter((d) => d.summary === 'Insecure provider endpoint');

const LOOPBACK = [
  'http://localhost', 'http://localhost:8787/', 'http://LOCALHOST:8787', 'http://127.0.0.1:8787', 'http://127.0.0.1',
  'http://127.255.255.254:1/base', 'http://127.1:8787', 'http://0x7f.0.0.1', 'http://[::1]:8787', 'http://[0:0:0:0:0:0:0:1]/',
];
const NOT_LOOPBACK = [
  'http://appreg.example.com', 'http://appreg.example.com:8787/base', 'http://10.0.0.5:8787', 'http://192.168.1.10',
  'http://128.0.0.1', 'http://126.255.255.255', 'http://0.0.0.0:8787', 'http://127.0.0.1.nip.io', 'http://localhost.example.com',
  'http://mylocalhost', 'http://[::2]', 'http://[::ffff:127.0.0.1]', 'http://[fe80::1]', 'http://appreg',
];

describe('the loopback rule', () => {
  it('counts localhost, 127.0.0.0/8 and [::1] as loopback, in every spelling the URL parser accepts', () => {
    for (const url of LOOPBACK) expect([url, isLoopbackHostname(new URL(url).hostname)]).toEqual([url, true]);
  });

  it('counts nothing else as loopback', () => {
    for (const url of NOT_LOOPBACK) expect([url, isLoopbackHostname(new URL(url).hostname)]).toEqual([url, false]);
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (a, b, c, d) => {
      expect(isLoopbackHostname(new URL(`http://${a}.${b}.${c}.${d}/`).hostname)).toBe(a === 127);
    }));
  });
});

describe('ValidateProviderConfig: endpoint in the provider block', () => {
  it('refuses plain http to a host that is not loopback, at path endpoint, naming the host and both ways out', () => {
    for (const endpoint of NOT_LOOPBACK) {
      const ds = validateProviderConfig(cfg({ endpoint }));
      expect([endpoint, paths(ds)]).toEqual([endpoint, ['endpoint']]);
      expect(ds[0]!.severity).toBe('error');
      expect(ds[0]!.summary).toBe('Insecure provider endpoint');
      expect(ds[0]!.detail).toContain(new URL(endpoint).hostname);
      expect(ds[0]!.detail).toContain('https://');
      expect(ds[0]!.detail).toContain('allow_insecure_http = true');
    }
    expect(validateProviderConfig(cfg({ endpoint: 'http://appreg.example.com:8787' }))[0]!.detail).toBe(
      'endpoint "http://appreg.example.com:8787" uses plain http to appreg.example.com, which is not a loopback host (localhost, 127.0.0.0/8, [::1]): ' +
        'the API token and client secrets would cross the network unencrypted. Use an https:// endpoint (https://appreg.example.com:8787), ' +
        'or, only on a trusted private network or in a test, set allow_insecure_http = true in the appreg provider block (or APPREG_ALLOW_INSECURE_HTTP=true).',
    );
  });

  it('accepts plain http on loopback hosts, and https to any host', () => {
    for (const endpoint of [...LOOPBACK, ...NOT_LOOPBACK.map((u) => u.replace(/^http:/, 'https:'))]) {
      expect([endpoint, validateProviderConfig(cfg({ endpoint }))]).toEqual([endpoint, []]);
    }
  });

  it('accepts plain http to any host with allow_insecure_http = true', () => {
    for (const endpoint of NOT_LOOPBACK) {
      expect([endpoint, validateProviderConfig(cfg({ endpoint, allow_insecure_http: true }))]).toEqual([endpoint, []]);
    }
  });

  it('falls back to APPREG_ALLOW_INSECURE_HTTP when the attribute is not set; the attribute wins when it is', () => {
    const endpoint = 'http://appreg.example.com';
    for (const yes of ['true', '1', 'TRUE', ' True ']) {
      expect(validateProviderConfig(cfg({ endpoint }), { APPREG_ALLOW_INSECURE_HTTP: yes })).toEqual([]);
      expect(paths(insecure(validateProviderConfig(cfg({ endpoint, allow_insecure_http: false }), { APPREG_ALLOW_INSECURE_HTTP: yes })))).toEqual(['endpoint']);
    }
    for (const no of [undefined, '', 'false', '0', 'FALSE']) {
      expect(paths(validateProviderConfig(cfg({ endpoint }), { APPREG_ALLOW_INSECURE_HTTP: no }))).toEqual(['endpoint']);
      expect(validateProviderConfig(cfg({ endpoint, allow_insecure_http: true }), { APPREG_ALLOW_INSECURE_HTTP: no })).toEqual([]);
    }
  });

  it('reports an APPREG_ALLOW_INSECURE_HTTP that is neither yes nor no, and then does not allow', () => {
    for (const bad of ['yes', 'on', '2', 'treu']) {
      expect(parseAllowInsecureHttpEnv(bad)).toBeUndefined();
      const ds = validateProviderConfig(cfg({ endpoint: 'http://appreg.example.com' }), { APPREG_ALLOW_INSECURE_HTTP: bad });
      expect(ds.map((d) => d.summary)).toEqual(['Invalid APPREG_ALLOW_INSECURE_HTTP', 'Insecure provider endpoint']);
      expect(paths(ds)).toEqual(['allow_insecure_http', 'endpoint']);
      expect(ds[0]!.detail).toContain(JSON.stringify(bad));
    }
    // The variable is not read when the attribute is set.
    expect(validateProviderConfig(cfg({ endpoint: 'https://appreg.example.com', allow_insecure_http: false }), { APPREG_ALLOW_INSECURE_HTTP: 'yes' })).toEqual([]);
  });

  it('leaves the check to ConfigureProvider while the endpoint or allow_insecure_http is not known', () => {
    expect(validateProviderConfig(cfg({ endpoint: Unknown.value }))).toEqual([]);
    expect(validateProviderConfig(cfg({ endpoint: 'http://appreg.example.com', allow_insecure_http: Unknown.value }))).toEqual([]);
    // The URL form is still checked.
    expect(paths(validateProviderConfig(cfg({ endpoint: 'ftp://x', allow_insecure_http: Unknown.value })))).toEqual(['endpoint']);
  });

  it('still rejects an endpoint that is not an http(s) URL, whatever allow_insecure_http says', () => {
    for (const endpoint of ['ftp://x', 'localhost:8787', 'not a url']) {
      const ds = validateProviderConfig(cfg({ endpoint, allow_insecure_http: true }));
      expect(ds.map((d) => d.summary)).toEqual(['Invalid provider endpoint']);
    }
    expect(checkProviderEndpoint('http://x.example', false, 'endpoint (from APPREG_ENDPOINT)')[0]!.detail).toMatch(/^endpoint \(from APPREG_ENDPOINT\) "http:\/\/x\.example"/);
  });

  it('documents allow_insecure_http as an optional bool that says why it exists and where it belongs', () => {
    const a: AttributeSpec = providerConfig.attributes.allow_insecure_http;
    expect(a).toMatchObject({ type: 'bool', optional: true });
    expect(a.required).toBeFalsy();
    expect(a.description).toContain('APPREG_ALLOW_INSECURE_HTTP');
    expect(a.description).toMatch(/token/);
    expect(a.description).toMatch(/secret/);
    expect(a.description).toMatch(/trusted private network or in a test/);
  });
});

describe('ConfigureProvider: endpoint from APPREG_ENDPOINT', () => {
  const configure = async (env: NodeJS.ProcessEnv, config: ConfigObject = cfg()) => {
    const p = new AppregProvider({ env: { APPREG_TOKEN: 'tok', ...env } });
    try {
      const diags = await p.configureProvider(config, '1.11.4');
      // A refused configuration leaves the provider unconfigured, so nothing can make a request. Probed
      // only after a refusal: a configured provider would go on to call the service.
      const configured = diags.length === 0 ? undefined : await p.readResource('appreg_oauth_client', { id: 'app_1' }, undefined).then(
        () => true,
        (e: Error) => !/before ConfigureProvider/.test(e.message),
      );
      return { diags, configured };
    } finally {
      await p.stop();
    }
  };

  it('refuses plain http to a host that is not loopback, at path endpoint, naming APPREG_ENDPOINT', async () => {
    const { diags, configured } = await configure({ APPREG_ENDPOINT: 'http://appreg.example.com' });
    expect(paths(diags)).toEqual(['endpoint']);
    expect(diags[0]!.summary).toBe('Insecure provider endpoint');
    expect(diags[0]!.detail).toContain('endpoint (from APPREG_ENDPOINT) "http://appreg.example.com"');
    expect(diags[0]!.detail).toContain('allow_insecure_http = true');
    expect(configured).toBe(false);
  });

  it('refuses an endpoint in the provider block too', async () => {
    const { diags, configured } = await configure({ APPREG_ENDPOINT: 'https://ignored.example.com' }, cfg({ endpoint: 'http://10.1.2.3:8787' }));
    expect(paths(diags)).toEqual(['endpoint']);
    expect(diags[0]!.detail).toContain('10.1.2.3');
    expect(configured).toBe(false);
  });

  it('allows it with APPREG_ALLOW_INSECURE_HTTP or allow_insecure_http = true, and always on loopback or over https', async () => {
    // Configuring makes no request, so these need no service.
    expect((await configure({ APPREG_ENDPOINT: 'http://appreg.example.com', APPREG_ALLOW_INSECURE_HTTP: '1' }, cfg())).diags).toEqual([]);
    expect((await configure({ APPREG_ENDPOINT: 'http://appreg.example.com' }, cfg({ allow_insecure_http: true }))).diags).toEqual([]);
    expect((await configure({ APPREG_ENDPOINT: 'http://127.0.0.1:9' })).diags).toEqual([]);
    expect((await configure({ APPREG_ENDPOINT: 'https://appreg.example.com' })).diags).toEqual([]);
  });

  it('lets allow_insecure_http = false in the block override APPREG_ALLOW_INSECURE_HTTP', async () => {
    const { diags } = await configure({ APPREG_ENDPOINT: 'http://appreg.example.com', APPREG_ALLOW_INSECURE_HTTP: 'true' }, cfg({ allow_insecure_http: false }));
    expect(diags.map((d) => d.summary)).toEqual(['Insecure provider endpoint']);
  });

  it('reports a malformed APPREG_ENDPOINT as a diagnostic', async () => {
    const { diags } = await configure({ APPREG_ENDPOINT: 'appreg.example.com:8787' });
    expect(diags.map((d) => [d.summary, paths([d])[0]])).toEqual([['Invalid provider endpoint', 'endpoint']]);
  });

  it('refuses an allow_insecure_http that is not known yet', async () => {
    const { diags } = await configure({ APPREG_ENDPOINT: 'http://appreg.example.com' }, cfg({ allow_insecure_http: Unknown.value }));
    expect(diags.map((d) => d.summary)).toContain('Provider configuration not known yet');
  });
});
