/**
 * The whole path from code: an HCL stack applied with the real `terraform`
 * binary (this checkout's provider, bin/) against a real `appreg serve`
 * child process on SQLite, then people sign in with what the stack outputs.
 *
 * It proves that:
 * - `appreg_tenant_oauth_setting` turns OAuth on and two `appreg_oauth_client`
 *   resources register a confidential, group-scoped web app (code flow) and
 *   a public CLI (code + device grant); their client ids and the web app's
 *   secret come out of `terraform output -json`, the secret from Terraform's
 *   state (a sensitive output);
 * - a member of the app's group signs in to the web app with code + PKCE
 *   (S256) and the secret Terraform put in state (client_secret_basic), and
 *   `GET /v1/me` with the access token names that person; the public CLI
 *   completes a device flow for the same person;
 * - `rotation_triggers` changed in code rotates the secret: the old secret
 *   (kept from the first output) is refused at the token endpoint at once
 *   (`invalid_client`) and the new output secret works;
 * - `enabled = false` in code stops the app signing anyone in
 *   (`invalid_client`), and a plan afterwards is empty (exit code 0 with
 *   -detailed-exitcode), as is the plan after every apply;
 * - no client secret, token, password or the provider's API token appears in
 *   Terraform's stdout/stderr (plan and apply), Terraform's trace log, the
 *   OIDC driver's progress lines or the service's log.
 *
 * The steps run in order on one service, one tenant and one workspace; a
 * step whose predecessor failed says so instead of failing obscurely.
 */
import {
  codeRequest,
  deviceRequest,
  expectOidcError,
  expectOidcOk,
  runOidc,
  type OidcRun,
} from '../support/oidc-client';
import { addPerson, prepareTenant, removePrepared, startServeProcess, type PreparedTenant, type ServeProcess } from '../support/serve-process';
import { PROVIDER_PREAMBLE, requireBuiltProvider, requireTerraform, TerraformWorkspace, type TfRun } from '../support/terraform';

jest.setTimeout(300_000);

/** The web app's redirect URI. Nothing listens there: the headless person hands the redirect back instead of following it. */
const CALLBACK = 'http://127.0.0.1:8719/callback';
const PERSON = { username: 'ada', password: 'Correct horse battery staple 7' } as const;

/** The stack; `web` holds extra lines for the web client (rotation_triggers, enabled). */
function stack(web: { extra?: string } = {}): string {
  return `
${PROVIDER_PREAMBLE}
data "appreg_group" "platform" { name = "platform" }

resource "appreg_tenant_oauth_setting" "this" {
  oauth_enabled = true
}

resource "appreg_oauth_client" "web" {
  group_id      = data.appreg_group.platform.id
  name          = "Team Portal"
  scope         = "group"
  callback_urls = ["${CALLBACK}"]
  grant_types   = ["authorization_code"]
  ${web.extra ?? ''}
  depends_on    = [appreg_tenant_oauth_setting.this]
}

resource "appreg_oauth_client" "cli" {
  group_id      = data.appreg_group.platform.id
  name          = "Deploy CLI"
  scope         = "group"
  public_client = true
  callback_urls = ["http://127.0.0.1:8719/cli-done"]
  grant_types   = ["authorization_code", "device_code"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}

output "web_client_id" { value = appreg_oauth_client.web.client_id }
output "cli_client_id" { value = appreg_oauth_client.cli.client_id }
output "web_client_secret" {
  value     = appreg_oauth_client.web.client_secret
  sensitive = true
}
`;
}

/** `terraform output -json`: each output with its value and whether it is sensitive. */
type Outputs = { [name: string]: { value: unknown; sensitive: boolean; type: unknown } };

/** What `GET /v1/me` answers. */
interface Me {
  user_id: string;
  username: string;
  tenant_id: string;
  groups: Array<{ id: string; name: string; role: string }>;
}

let tenant: PreparedTenant | undefined;
let serve: ServeProcess | undefined;
let tf: TerraformWorkspace | undefined;
let userId = '';

/** Everything Terraform printed for plan and apply (stdout and stderr), for the leak checks. */
const printed: string[] = [];
/** The OIDC driver's progress lines. */
const driverLogs: string[] = [];
/** Every client secret and token the test saw, for the leak checks. */
const secrets = new Set<string>();

/** What earlier steps found; a later step asks for it through {@link need}. */
const found: {
  webClientId?: string;
  cliClientId?: string;
  firstSecret?: string;
  rotatedSecret?: string;
} = {};

function need<K extends keyof typeof found>(key: K): NonNullable<(typeof found)[K]> {
  const v = found[key];
  if (v === undefined) throw new Error(`an earlier step did not get as far as ${key}; see its failure`);
  return v as NonNullable<(typeof found)[K]>;
}

function service(): ServeProcess {
  if (!serve) throw new Error('appreg serve did not start; see beforeAll');
  return serve;
}

function workspace(): TerraformWorkspace {
  if (!tf) throw new Error('no Terraform workspace; see beforeAll');
  return tf;
}

/** Applies `hcl` (recording what Terraform printed), then requires an empty plan. */
async function applyAndReplan(hcl: string): Promise<TfRun> {
  const w = workspace();
  w.write(hcl);
  const apply = await w.run(['apply', '-auto-approve', '-no-color']);
  printed.push(apply.stdout, apply.stderr);
  if (apply.code !== 0) throw new Error(`terraform apply exited ${apply.code}\n${apply.stdout}\n${apply.stderr}`);
  const plan = await w.plan();
  printed.push(plan.stdout, plan.stderr);
  if (plan.code !== 0) throw new Error(`the plan after apply is not empty (exit ${plan.code}):\n${plan.stdout}\n${plan.stderr}`);
  return apply;
}

/** The outputs, read as a pipeline reads them. Not added to `printed`: printing the sensitive value is what -json is for. */
async function outputs(): Promise<Outputs> {
  const r = await workspace().ok(['output', '-json']);
  return JSON.parse(r.stdout) as Outputs;
}

function stringOutput(out: Outputs, name: string): string {
  const v = out[name]?.value;
  if (typeof v !== 'string' || v === '') throw new Error(`output ${name} is ${JSON.stringify(v)}, not a non-empty string`);
  return v;
}

/** Runs one flow and keeps its tokens and progress lines for the leak checks. */
async function oidcRun(request: Parameters<typeof runOidc>[0]): Promise<OidcRun> {
  const run = await runOidc({ ...request, return_tokens: true });
  driverLogs.push(run.stderr);
  for (const t of [run.tokens, ...run.steps.map((s) => s.tokens)]) {
    for (const v of [t?.access_token, t?.refresh_token, t?.id_token]) if (v !== undefined) secrets.add(v);
  }
  return run;
}

/** The web app's code flow (S256, client_secret_basic) with `secret`, then GET /v1/me. */
function webSignIn(secret: string): Promise<OidcRun> {
  return oidcRun(
    codeRequest({
      issuer: service().issuer,
      client_id: need('webClientId'),
      client_secret: secret,
      auth: 'basic',
      redirect_uri: CALLBACK,
      person: { ...PERSON },
      steps: [{ do: 'call_api', path: '/v1/me' }],
    }),
  );
}

/**
 * The token endpoint's answer to a code that was never issued, with the
 * client authenticated by `secret` (client_secret_basic). Client
 * authentication comes first: `invalid_client` means the secret (or the
 * client) was refused, `invalid_grant` means the client got past it.
 */
async function tokenEndpointVerdict(clientId: string, secret: string): Promise<{ status: number; error: unknown }> {
  const s = service();
  const discovery = (await (await fetch(`${s.issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: 'never-issued-code-0123456789abcdefghijklmnopqrstuv',
      redirect_uri: CALLBACK,
      code_verifier: 'a'.repeat(43),
    }).toString(),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: unknown };
  return { status: res.status, error: body.error };
}

function expectMeIsThePerson(run: OidcRun): void {
  expect(run.api?.status).toBe(200);
  const me = run.api?.json as Me;
  expect(me).toMatchObject({ user_id: userId, username: PERSON.username, tenant_id: tenant!.tenantId });
  expect(me.groups).toEqual([{ id: tenant!.groups.platform, name: 'platform', role: 'member' }]);
}

beforeAll(async () => {
  requireTerraform();
  requireBuiltProvider();
  tenant = await prepareTenant({ groups: ['platform'] });
  userId = await addPerson(tenant.db, { tenant: tenant.tenant, username: PERSON.username, password: PERSON.password, member: ['platform'] });
  serve = await startServeProcess({ db: tenant.db });
  tf = new TerraformWorkspace({ endpoint: serve.url, token: tenant.adminToken });
});

afterAll(async () => {
  tf?.dispose();
  await serve?.stop();
  if (tenant) removePrepared(tenant);
});

describe('an app registered in HCL signs people in with the credentials Terraform keeps', () => {
  test('apply: OAuth on, a confidential web client and a public CLI client; the outputs carry both client ids and the secret', async () => {
    const apply = await applyAndReplan(stack());
    expect(apply.stdout).toMatch(/Apply complete! Resources: 3 added, 0 changed, 0 destroyed/);
    // The apply shows the sensitive output only as such.
    expect(apply.stdout).toMatch(/web_client_secret = <sensitive>/);

    const out = await outputs();
    expect(out.web_client_secret?.sensitive).toBe(true);
    found.webClientId = stringOutput(out, 'web_client_id');
    found.cliClientId = stringOutput(out, 'cli_client_id');
    found.firstSecret = stringOutput(out, 'web_client_secret');
    secrets.add(found.firstSecret);
    expect(found.cliClientId).not.toBe(found.webClientId);

    // The secret in the output is the one in state; the public client has none.
    const w = workspace();
    expect((await w.resource('appreg_oauth_client.web')).client_secret).toBe(found.firstSecret);
    expect(await w.resource('appreg_oauth_client.cli')).toMatchObject({ public_client: true, require_pkce: true, client_secret: null });
  });

  test('a member of the group signs in to the web app with code + PKCE and the secret from state; /v1/me names her', async () => {
    const run = expectOidcOk(await webSignIn(need('firstSecret')));
    expect(run.screens).toEqual(['sign-in', 'consent']);
    expect(run.tokens).toMatchObject({ access_token_present: true, id_token_present: true, token_type: expect.stringMatching(/^bearer$/i) });
    expect(run.callback_state_matches).toBe(true);
    expectMeIsThePerson(run);
  });

  test('the public CLI client completes a device flow for the same person; /v1/me names her', async () => {
    const run = expectOidcOk(
      await oidcRun(
        deviceRequest({
          issuer: service().issuer,
          client_id: need('cliClientId'),
          person: { ...PERSON },
          steps: [{ do: 'call_api', path: '/v1/me' }],
        }),
      ),
    );
    expect(run.device_page?.connected).toBe(true);
    expect(run.tokens?.access_token_present).toBe(true);
    expectMeIsThePerson(run);
  });

  test('rotation_triggers changed in code: the old secret is refused at once (invalid_client), the new output secret works', async () => {
    const old = need('firstSecret');
    const apply = await applyAndReplan(stack({ extra: 'rotation_triggers = { v = "2" }' }));
    expect(apply.stdout).toMatch(/Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);

    const out = await outputs();
    // Rotated in place: same client, new secret.
    expect(stringOutput(out, 'web_client_id')).toBe(need('webClientId'));
    found.rotatedSecret = stringOutput(out, 'web_client_secret');
    secrets.add(found.rotatedSecret);
    expect(found.rotatedSecret).not.toBe(old);

    // The person gets through the screens; the app's code exchange with the old secret is refused.
    const refused = await webSignIn(old);
    expectOidcError(refused, 'invalid_client', 'token');
    expect(await tokenEndpointVerdict(need('webClientId'), old)).toEqual({ status: 401, error: 'invalid_client' });

    // The new secret passes client authentication and completes the sign-in (consent was given before).
    expect(await tokenEndpointVerdict(need('webClientId'), found.rotatedSecret)).toMatchObject({ error: 'invalid_grant' });
    const run = expectOidcOk(await webSignIn(found.rotatedSecret));
    expect(run.screens).toEqual(['sign-in']);
    expectMeIsThePerson(run);
  });

  test('enabled = false in code: the code flow gets invalid_client, and a plan afterwards is empty', async () => {
    const secret = need('rotatedSecret');
    const apply = await applyAndReplan(stack({ extra: 'rotation_triggers = { v = "2" }\n  enabled = false' }));
    expect(apply.stdout).toMatch(/Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);
    // Disabling is not a rotation: the state keeps the secret.
    expect(stringOutput(await outputs(), 'web_client_secret')).toBe(secret);

    // A disabled app cannot be trusted with a redirect: the person sees the error page, with the code.
    const run = await webSignIn(secret);
    const e = expectOidcError(run, 'page', 'authorize');
    expect(e.page?.text).toContain('invalid_client');
    expect(run.screens).toEqual([]);
    // The token endpoint refuses the client outright, with the secret that worked before.
    expect(await tokenEndpointVerdict(need('webClientId'), secret)).toEqual({ status: 401, error: 'invalid_client' });

    // Nothing left to do: exit code 0 with -detailed-exitcode.
    const plan = await workspace().plan();
    printed.push(plan.stdout, plan.stderr);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/No changes/);
  });

  test('no secret, token, password or API token in Terraform output, Terraform log, driver output or service log', () => {
    need('rotatedSecret');
    // Two client secrets, and an access token and an ID token from each of the four sign-ins that succeeded.
    expect(secrets.size).toBeGreaterThanOrEqual(2 + 4 * 2);
    const places: Array<[string, string]> = [
      ["Terraform's stdout/stderr", printed.join('\n')],
      ["Terraform's trace log", workspace().log()],
      ["the OIDC driver's stderr", driverLogs.join('\n')],
      ['the service log', service().logs()],
    ];
    for (const [where, text] of places) {
      expect(text.length).toBeGreaterThan(0);
      for (const s of [...secrets, tenant!.adminToken, PERSON.password]) {
        if (text.includes(s)) throw new Error(`${where} holds a secret (${s.slice(0, 4)}…, ${s.length} characters)`);
      }
    }
  });
});
