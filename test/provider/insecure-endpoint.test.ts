/**
 * With the real `terraform` binary: a plain http endpoint on a host that is
 * not loopback is refused before any request is made, and goes through with
 * `allow_insecure_http = true` (or APPREG_ALLOW_INSECURE_HTTP).
 *
 * No address other than loopback is ever used. The workspace points
 * HTTP_PROXY at a recording proxy on 127.0.0.1, which the provider's HTTP
 * client honours: a request to http://appreg.example.com goes to the proxy,
 * with no DNS lookup of that name, and the proxy forwards it to a real
 * service on loopback. So the proxy sees every request the provider would
 * have sent to that host: none when the endpoint is refused, and a working
 * plan when it is allowed.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestService, type TestService } from '../support/service';
import { requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(180_000);

const INSECURE = 'http://appreg.example.com';

/** What Terraform printed, with its line wrapping undone. */
const printed = (r: { stdout: string; stderr: string }): string => (r.stdout + r.stderr).replace(/\s+/g, ' ');

/** An HTTP forward proxy on 127.0.0.1 that records each request and forwards it to `upstream`. */
async function startRecordingProxy(upstream: string): Promise<{ url: string; seen: Array<{ url: string; host: string }>; close(): Promise<void> }> {
  const seen: Array<{ url: string; host: string }> = [];
  const to = new URL(upstream);
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', host: req.headers.host ?? '' });
    // A proxy gets the absolute URL; the service gets its path.
    const target = new URL(req.url ?? '/', 'http://unused.invalid');
    const out = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: target.pathname + target.search, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const config = (provider: string): string => `
terraform {
  required_providers {
    appreg = { source = "appreg/appreg" }
  }
}
provider "appreg" {
${provider}
}
data "appreg_group" "platform" { name = "platform" }
output "platform_group_id" { value = data.appreg_group.platform.id }
`;

describe('plain http endpoint on a host that is not loopback, with real Terraform', () => {
  let svc: TestService;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  const workspaces: TerraformWorkspace[] = [];

  /** A workspace whose provider HTTP traffic goes through the recording proxy. */
  const workspace = (hcl: string, env: NodeJS.ProcessEnv = {}): TerraformWorkspace => {
    const tf = new TerraformWorkspace({
      endpoint: svc.url,
      token: svc.adminToken,
      extraEnv: {
        HTTP_PROXY: proxy.url, http_proxy: proxy.url, HTTPS_PROXY: '', https_proxy: '', ALL_PROXY: '', all_proxy: '', NO_PROXY: '', no_proxy: '',
        APPREG_ALLOW_INSECURE_HTTP: '',
        ...env,
      },
    });
    tf.write(hcl);
    workspaces.push(tf);
    return tf;
  };

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService({ groups: ['platform'] });
    proxy = await startRecordingProxy(svc.url);
  });

  afterEach(() => {
    proxy.seen.length = 0;
  });

  afterAll(async () => {
    for (const tf of workspaces) tf.dispose();
    await proxy?.close();
    await svc?.close();
  });

  it('the proxy works: allowed, a plan against http://appreg.example.com reads the real service through it', async () => {
    const tf = workspace(config(`  endpoint = "${INSECURE}"\n  allow_insecure_http = true`));
    const r = await tf.plan();
    const out = printed(r);
    expect(out).not.toContain('Insecure provider endpoint');
    expect(out).toContain(`platform_group_id = "${svc.groups.platform}"`);
    expect(r.code).toBe(2);
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(proxy.seen.every((s) => s.host === 'appreg.example.com' && s.url.startsWith(`${INSECURE}/v1/`))).toBe(true);
  });

  it('refuses endpoint = "http://appreg.example.com" in plan and validate, at endpoint, without a request', async () => {
    const tf = workspace(config(`  endpoint = "${INSECURE}"`));
    const plan = await tf.plan();
    const out = printed(plan);
    expect(plan.code).toBe(1);
    expect(out).toContain('Error: Insecure provider endpoint');
    expect(out).toContain('uses plain http to appreg.example.com, which is not a loopback host');
    expect(out).toContain('allow_insecure_http = true');
    // Terraform shows the attribute the diagnostic names.
    expect(out).toMatch(/with provider\["registry\.terraform\.io\/appreg\/appreg"\], on main\.tf line \d+, in provider "appreg": \d+: endpoint = "http:\/\/appreg\.example\.com"/);
    // ValidateProviderConfig says so already: terraform validate never configures the provider.
    const validate = await tf.run(['validate', '-no-color']);
    expect(validate.code).toBe(1);
    expect(printed(validate)).toContain('Insecure provider endpoint');
    expect(proxy.seen).toEqual([]);
  });

  it('refuses APPREG_ENDPOINT=http://appreg.example.com when the provider is configured, without a request', async () => {
    const tf = workspace(config(''), { APPREG_ENDPOINT: INSECURE });
    // The endpoint is not in the configuration, so validate has nothing to refuse ...
    expect((await tf.run(['validate', '-no-color'])).code).toBe(0);
    // ... and ConfigureProvider refuses it.
    const plan = await tf.plan();
    const out = printed(plan);
    expect(plan.code).toBe(1);
    expect(out).toContain('Error: Insecure provider endpoint');
    expect(out).toContain('endpoint (from APPREG_ENDPOINT) "http://appreg.example.com"');
    expect(proxy.seen).toEqual([]);
  });

  it('allows it with APPREG_ALLOW_INSECURE_HTTP=true, unless the provider block says allow_insecure_http = false', async () => {
    const viaEnv = await workspace(config(''), { APPREG_ENDPOINT: INSECURE, APPREG_ALLOW_INSECURE_HTTP: 'true' }).plan();
    expect(printed(viaEnv)).not.toContain('Insecure provider endpoint');
    expect(viaEnv.stdout).toContain(`platform_group_id = "${svc.groups.platform}"`);
    expect(viaEnv.code).toBe(2);
    expect(proxy.seen.length).toBeGreaterThan(0);

    proxy.seen.length = 0;
    const overridden = await workspace(config(`  endpoint = "${INSECURE}"\n  allow_insecure_http = false`), { APPREG_ALLOW_INSECURE_HTTP: 'true' }).plan();
    expect(overridden.code).toBe(1);
    expect(printed(overridden)).toContain('Insecure provider endpoint');
    expect(proxy.seen).toEqual([]);
  });

  it('keeps a loopback http endpoint working with nothing to allow', async () => {
    const tf = workspace(config(`  endpoint = "${svc.url.replace('127.0.0.1', 'localhost')}"`), { HTTP_PROXY: '', http_proxy: '' });
    const r = await tf.plan();
    expect(r.stdout + r.stderr).not.toContain('Insecure provider endpoint');
    expect(r.stdout).toContain(`platform_group_id = "${svc.groups.platform}"`);
    expect(r.code).toBe(2);
  });
});
