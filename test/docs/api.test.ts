/**
 * The curl examples of docs/api.md, run as written (with real curl) against
 * a real service on port 0, once with a token of each role. An example must
 * answer the status its page documents for the roles the page says "yes"
 * to, and 403 or 404 (as the page says) for the others. So neither an
 * example nor a role cell can rot: a change to a route or to authz.ts that
 * the page does not follow fails here.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { API_PAGE, readDocs } from '../../scripts/docs';
import { findRepoRoot } from '../../scripts/generate';
import { ROLES, type Role } from '../../src/rules';
import { startTestService, type TestService } from '../support/service';

jest.setTimeout(120_000);

const page = readDocs(findRepoRoot(__dirname)).get(API_PAGE)!;

/** One operation as the page documents it. */
interface DocumentedOperation {
  key: string;
  curl: string;
  status: number;
  /** Per role the status the page promises; undefined for public routes. */
  roles?: Record<Role, number>;
}

/** Reads every operation section of the page back: its curl command, documented status and role cells. */
function documentedOperations(): DocumentedOperation[] {
  return page
    .split('\n### ')
    .slice(1)
    .map((section) => {
      const key = section.split('\n')[0]!;
      const curl = section.match(/```shell\n(curl [\s\S]*?)\n```/)?.[1];
      const status = section.match(/Answers `(\d{3}) /)?.[1];
      if (!curl || !status) throw new Error(`${key}: no curl example or documented status`);
      if (section.includes('**Authentication:** none.')) return { key, curl, status: Number(status) };
      const roles = {} as Record<Role, number>;
      for (const role of ROLES) {
        const cellText = section.match(new RegExp(`\\| \`${role}\` \\| ([^|\\n]*(?:\\\\\\|[^|\\n]*)*) \\|`))?.[1];
        if (cellText === undefined) throw new Error(`${key}: no role cell for ${role}`);
        if (cellText.startsWith('yes')) roles[role] = Number(status);
        else roles[role] = Number(cellText.match(/^no \((\d{3})\)/)?.[1] ?? NaN);
      }
      return { key, curl, status: Number(status), roles };
    });
}

const operations = documentedOperations();

/** What one documented command answered. */
interface CurlResult {
  status: number;
  body: string;
  contentType: string;
}

/** Runs a documented curl command with `sh`, exactly as written, only told where to write the answer. */
function runCurl(command: string, env: Record<string, string>): Promise<CurlResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-api-doc-'));
  const out = path.join(dir, 'body');
  const script = command.replace(/^curl /, `curl -sS -o "$RESPONSE_BODY" -w '%{http_code}\\n%{content_type}' `);
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', script], { env: { PATH: process.env.PATH ?? '', RESPONSE_BODY: out, ...env } }, (err, stdout, stderr) => {
      try {
        if (err) return reject(new Error(`${command}\nfailed: ${stderr}`));
        const [status, contentType] = stdout.split('\n');
        resolve({ status: Number(status), contentType: contentType ?? '', body: fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '' });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

let svc: TestService;
let counter = 0;

/** A call made to set the scene, with the tenant admin's token. */
async function call(method: string, urlPath: string, body?: unknown): Promise<any> {
  const res = await fetch(`${svc.url}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${svc.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`setup ${method} ${urlPath}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** A fresh organization-scoped confidential app of `platform` (version 1), for examples that change or read one. */
async function freshApp(): Promise<string> {
  counter += 1;
  const app = await call('POST', `/v1/groups/${svc.groups.platform}/apps`, {
    name: `Setup App ${counter}`,
    callback_urls: ['https://setup.example.com/cb'],
    scope: 'organization',
  });
  return app.id as string;
}

/**
 * The situation each example is documented for: the variables it uses, and
 * which group the group_admin token should administer (the group the
 * example acts in).
 */
async function scene(key: string): Promise<{ GROUP_ID: string; APP_ID: string; groupAdminOf: string }> {
  const platform = svc.groups.platform!;
  const billing = svc.groups.billing!;
  if (key.startsWith('POST /v1/groups/{group_id}/apps')) {
    // The example registers "Partner Portal": names are unique per group, so an earlier run's app goes first.
    const { items } = await call('GET', `/v1/apps?group_id=${platform}&name=${encodeURIComponent('Partner Portal')}`);
    for (const a of items as Array<{ id: string }>) await call('DELETE', `/v1/apps/${a.id}`);
    return { GROUP_ID: platform, APP_ID: '', groupAdminOf: 'platform' };
  }
  if (key.includes('/consents/{app_id}')) {
    // Billing consents to an organization-scoped app of platform.
    const appId = await freshApp();
    if (!key.startsWith('PUT ')) await call('PUT', `/v1/groups/${billing}/consents/${appId}`);
    return { GROUP_ID: billing, APP_ID: appId, groupAdminOf: 'billing' };
  }
  if (key === 'GET /v1/consents' || key === 'GET /v1/browse') {
    await call('PUT', `/v1/groups/${billing}/consents/${await freshApp()}`);
    return { GROUP_ID: billing, APP_ID: '', groupAdminOf: 'billing' };
  }
  return { GROUP_ID: platform, APP_ID: key.includes('{id}') ? await freshApp() : '', groupAdminOf: 'platform' };
}

beforeAll(async () => {
  svc = await startTestService({ groups: ['platform', 'billing'] });
  await call('PUT', '/v1/tenant/oauth-settings', { oauth_enabled: true });
});

afterAll(async () => {
  await svc?.close();
});

test('the page documents every operation with a curl example and, for /v1, a promise per role', () => {
  expect(operations.length).toBeGreaterThanOrEqual(17);
  for (const op of operations) if (op.key.includes(' /v1/')) expect({ key: op.key, roles: op.roles !== undefined }).toEqual({ key: op.key, roles: true });
});

describe('each curl example answers as documented', () => {
  type Case = { name: string; op: DocumentedOperation; role: Role | undefined };
  const cases = operations.flatMap((op): Case[] =>
    op.roles === undefined
      ? [{ name: `${op.key} (no token)`, op, role: undefined }]
      : ROLES.map((role) => ({ name: `${op.key} as ${role}`, op, role })),
  );

  test.each(cases)('$name', async ({ op, role }) => {
    const vars = await scene(op.key);
    const token = role === undefined ? '' : role === 'tenant_security_admin' ? svc.adminToken : role === 'auditor' ? svc.auditorToken : svc.groupAdminTokens[vars.groupAdminOf]!;
    const expected = role === undefined ? op.status : op.roles![role];
    const r = await runCurl(op.curl, { APPREG_ENDPOINT: svc.url, APPREG_TOKEN: token, GROUP_ID: vars.GROUP_ID, APP_ID: vars.APP_ID });
    expect({ status: r.status, body: r.status === expected ? '' : r.body }).toEqual({ status: expected, body: '' });
    if (expected >= 400) {
      expect(r.contentType).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(r.body)).toMatchObject({ status: expected, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    } else if (expected !== 204) {
      expect(r.contentType).toMatch(/^application\/json/);
      JSON.parse(r.body);
    }
  });
});
