/**
 * What resources/oauth_client.md claims about rotation and replacement,
 * checked with the real `terraform`, this checkout's provider and a real
 * service, so the page cannot drift from the behaviour:
 * - rotation keeps the client id, issues a new secret, and the service keeps
 *   only the new one (the old one stops working at once);
 * - `create_before_destroy` with the same name in the same group fails on
 *   the name (names are unique per group) and leaves the old client;
 *   renamed in the same change, it replaces the client with a new id and
 *   client id, and the old registration is gone.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { startTestService, type TestService } from '../support/service';
import { PROVIDER_PREAMBLE, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(300_000);

let svc: TestService;
let ws: TerraformWorkspace;

function config(opts: { name: string; scope: string; rotated: string; createBeforeDestroy?: boolean }): string {
  return `${PROVIDER_PREAMBLE}
resource "appreg_oauth_client" "example" {
  group_id      = "${svc.groups.platform}"
  name          = "${opts.name}"
  scope         = "${opts.scope}"
  callback_urls = ["https://claims.example.com/cb"]
  rotation_triggers = {
    rotated = "${opts.rotated}"
  }
${opts.createBeforeDestroy ? '  lifecycle {\n    create_before_destroy = true\n  }\n' : ''}}
`;
}

/** The one secret hash the service stores for an app. */
function storedSecretHash(appId: string): string {
  const db = new Database(svc.db, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT secret_hash FROM apps WHERE id = ?').get(appId) as { secret_hash: string }).secret_hash;
  } finally {
    db.close();
  }
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

async function appStatus(id: string): Promise<number> {
  return (await fetch(`${svc.url}/v1/apps/${id}`, { headers: { authorization: `Bearer ${svc.adminToken}` } })).status;
}

beforeAll(async () => {
  requireTerraform();
  requireBuiltProvider();
  svc = await startTestService({ groups: ['platform'] });
  const res = await fetch(`${svc.url}/v1/tenant/oauth-settings`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${svc.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ oauth_enabled: true }),
  });
  expect(res.status).toBe(200);
  ws = new TerraformWorkspace({ endpoint: svc.url, token: svc.adminToken, extraEnv: { TF_LOG: '' } });
});

afterAll(async () => {
  ws?.dispose();
  await svc?.close();
});

test('rotation keeps the client id and replaces the stored secret: the old one no longer matches', async () => {
  ws.write(config({ name: 'Claims App', scope: 'group', rotated: '1' }));
  await ws.apply();
  const before = await ws.resource('appreg_oauth_client.example');
  expect(storedSecretHash(before.id as string)).toBe(sha256(before.client_secret as string));

  ws.write(config({ name: 'Claims App', scope: 'group', rotated: '2' }));
  await ws.apply();
  const after = await ws.resource('appreg_oauth_client.example');
  expect({ id: after.id, client_id: after.client_id, secret_version: after.secret_version }).toEqual({
    id: before.id,
    client_id: before.client_id,
    secret_version: (before.secret_version as number) + 1,
  });
  expect(after.client_secret).not.toBe(before.client_secret);
  const stored = storedSecretHash(after.id as string);
  expect(stored).toBe(sha256(after.client_secret as string));
  expect(stored).not.toBe(sha256(before.client_secret as string));
});

test('create_before_destroy with the same name fails on the name and keeps the old client; renamed, it replaces it', async () => {
  const old = await ws.resource('appreg_oauth_client.example');

  ws.write(config({ name: 'Claims App', scope: 'organization', rotated: '2', createBeforeDestroy: true }));
  const failed = await ws.run(['apply', '-auto-approve', '-no-color']);
  expect(failed.code).not.toBe(0);
  // Terraform wraps diagnostics at 80 columns.
  expect(`${failed.stdout}\n${failed.stderr}`.replace(/\s+/g, ' ')).toMatch(/already has an app named "Claims App"; names are unique per group/);
  expect(await appStatus(old.id as string)).toBe(200);

  ws.write(config({ name: 'Claims App v2', scope: 'organization', rotated: '2', createBeforeDestroy: true }));
  await ws.apply();
  const replaced = await ws.resource('appreg_oauth_client.example');
  expect(replaced.id).not.toBe(old.id);
  expect(replaced.client_id).not.toBe(old.client_id);
  expect(replaced.client_secret).toEqual(expect.any(String));
  expect(await appStatus(old.id as string)).toBe(404);
});
