/**
 * Hostile callback URLs are refused at plan time by real Terraform, before
 * any call that changes anything: one `terraform plan` over a configuration
 * with one `appreg_oauth_client` per hostile URL (plus one valid client),
 * read once as JSON (each error at its resource, naming callback_urls and the
 * value) and once as a person sees it (no control character reaches the
 * screen). The service receives no write.
 */
import { quote } from '../../src/rules';
import { HOSTILE } from '../support/hostile-urls';
import { startTestService, type TestService } from '../support/service';
import { PROVIDER_PREAMBLE, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(300_000);

/** `s` as an HCL quoted string: every character outside printable ASCII as an escape, templates escaped. */
function hclString(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp > 0x7e) out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `"${out.replace(/\$\{/g, '$${').replace(/%\{/g, '%%{')}"`;
}

/** Hostile URLs Terraform can carry: HCL has no way to write a lone UTF-16 surrogate. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const URLS = HOSTILE.map(([url]) => url).filter((url) => !LONE_SURROGATE.test(url));

/** Characters that must never reach a terminal raw from a diagnostic. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u200b\u202e\ufeff]/;

interface JsonDiagnostic {
  severity: string;
  summary: string;
  detail: string;
  address?: string;
  range?: { filename: string; start: { line: number } };
}

describe('hostile callback URLs with real Terraform', () => {
  let svc: TestService;
  let tf: TerraformWorkspace;

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService({ groups: ['platform'] });
    tf = new TerraformWorkspace({ endpoint: svc.url, token: svc.adminToken });
    const resources = URLS.map((url, i) => `
resource "appreg_oauth_client" "h${i}" {
  group_id      = "${svc.groups.platform}"
  name          = "Hostile ${i}"
  scope         = "group"
  callback_urls = [${hclString(url)}]
}
`).join('');
    tf.write(`${PROVIDER_PREAMBLE}
resource "appreg_oauth_client" "ok" {
  group_id      = "${svc.groups.platform}"
  name          = "Fine"
  scope         = "group"
  callback_urls = ["https://app.example.com/callback", "http://localhost:3000/callback"]
}
${resources}`);
  });

  afterAll(async () => {
    tf?.dispose();
    await svc?.close();
  });

  it('fails the plan with one callback_urls error per hostile URL, naming the value, and writes nothing', async () => {
    const r = await tf.run(['plan', '-json', '-no-color']);
    expect(r.code).toBe(1);
    const diagnostics = r.stdout.split('\n').filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { type: string; diagnostic?: JsonDiagnostic })
      .filter((m) => m.type === 'diagnostic' && m.diagnostic?.severity === 'error')
      .map((m) => m.diagnostic!);
    const byAddress = new Map<string, JsonDiagnostic[]>();
    for (const d of diagnostics) byAddress.set(d.address ?? '?', [...(byAddress.get(d.address ?? '?') ?? []), d]);

    const failures: string[] = [];
    URLS.forEach((url, i) => {
      const ds = byAddress.get(`appreg_oauth_client.h${i}`) ?? [];
      const expected = `callback_urls element ${quote(url)} `;
      if (ds.length !== 1) failures.push(`h${i} ${quote(url.slice(0, 60))}: ${ds.length} errors: ${JSON.stringify(ds.map((d) => d.detail))}`);
      else if (ds[0]!.summary !== 'Invalid callback URLs' || !ds[0]!.detail.startsWith(expected)) {
        failures.push(`h${i}: ${JSON.stringify(ds[0])} does not start with ${expected}`);
      }
    });
    expect(failures).toEqual([]);
    expect(byAddress.get('appreg_oauth_client.ok')).toBeUndefined();
    expect(diagnostics).toHaveLength(URLS.length);
    for (const d of diagnostics) expect(d.detail).not.toMatch(RAW_CONTROL);

    // Nothing was written: no POST, PATCH or DELETE reached the service, and it holds no app.
    const requests = svc.logs().split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { method?: string });
    expect(requests.filter((l) => l.method !== undefined && l.method !== 'GET')).toEqual([]);
    const apps = await fetch(`${svc.url}/v1/apps`, { headers: { authorization: `Bearer ${svc.adminToken}` } });
    expect(((await apps.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('shows every error readably, with each hostile value escaped and no control character printed raw', async () => {
    const r = await tf.plan();
    expect(r.code).toBe(1);
    const printed = r.stdout + r.stderr;
    expect(printed).not.toMatch(RAW_CONTROL);
    expect(printed).not.toContain('\r');
    // Terraform wraps long details, so compare with line breaks and box borders taken out.
    const flat = printed.replace(/\n│ ?/g, ' ').replace(/\s+/g, ' ');
    const missing = URLS.filter((url) => url.length < 200 && !flat.includes(`callback_urls element ${quote(url)}`));
    expect(missing.map((u) => quote(u))).toEqual([]);
    expect((printed.match(/Error: Invalid callback URLs/g) ?? []).length).toBe(URLS.length);
  });
});
