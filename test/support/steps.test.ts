/**
 * The step runner must fail a scenario for the reasons a provider test
 * relies on it to: a non-empty plan after apply, a failure that does not
 * match, an import that differs. Most cases use Terraform's built-in
 * `terraform_data` resource (no provider, no service), which can be made
 * non-idempotent on purpose; the import case needs the real provider.
 */
import { AppregClient } from '../../src/client';
import { startTestService, type TestService } from './service';
import { checkAttr, checkAttrSet, checkNotReplaced, checkReplaced, runSteps, StepError } from './steps';
import { PROVIDER_PREAMBLE, requireBuiltProvider, requireTerraform } from './terraform';

jest.setTimeout(120_000);

// terraform_data needs no provider, so the endpoint is never called.
const offline = { endpoint: 'http://127.0.0.1:9', token: 'unused' };

/** `triggers_replace = timestamp()` is known only at apply: every plan replaces it again. */
const PERPETUAL = `resource "terraform_data" "clock" { triggers_replace = timestamp() }\n`;
const STEADY = (input: string): string => `resource "terraform_data" "x" { input = "${input}" }\n`;

beforeAll(() => {
  requireTerraform();
});

describe('runSteps', () => {
  test('fails the step when the plan after apply is not empty, naming the step', async () => {
    await expect(runSteps(offline, [{ name: 'steady', config: STEADY('a') }, { name: 'clock', config: PERPETUAL }])).rejects.toThrow(
      /^step 2 \(clock\): expected an empty plan after apply, but Terraform plans changes[\s\S]*terraform_data\.clock/,
    );
  });

  test('accepts a non-empty plan after apply only when the step says why', async () => {
    await expect(runSteps(offline, [{ config: PERPETUAL, expectNonEmptyPlan: 'timestamp() changes on every plan' }])).resolves.toBeDefined();
    await expect(runSteps(offline, [{ config: STEADY('a'), expectNonEmptyPlan: 'wrongly expected' }])).rejects.toThrow(
      /^step 1: expected a non-empty plan after apply \(wrongly expected\), but it was empty/,
    );
  });

  test('fails when the expected error does not match, or when there is no error', async () => {
    const invalid = `resource "terraform_data" "x" { no_such_argument = 1 }\n`;
    await expect(runSteps(offline, [{ config: STEADY('a') }, { config: invalid, expectError: /Unsupported argument/ }])).resolves.toBeDefined();
    await expect(runSteps(offline, [{ config: STEADY('a') }, { name: 'typo', config: invalid, expectError: /Invalid app name/ }])).rejects.toThrow(
      /^step 2 \(typo\): expected the plan to fail with a diagnostic matching \/Invalid app name\/, but it said:[\s\S]*Unsupported argument/,
    );
    await expect(runSteps(offline, [{ config: STEADY('a'), expectError: /anything/ }])).rejects.toThrow(/^step 1: expected apply to fail with \/anything\/, but it succeeded/);
  });

  test('checks see the state; checkReplaced and checkNotReplaced compare ids between steps', async () => {
    // Changing `input` of terraform_data updates it in place; triggers_replace replaces it.
    const replaced = (v: string): string => `resource "terraform_data" "x" { triggers_replace = "${v}" }\n`;
    await expect(
      runSteps(offline, [
        { config: replaced('1'), checks: [checkAttrSet('terraform_data.x', 'id'), checkAttr('terraform_data.x', 'triggers_replace', '1')] },
        { config: replaced('2'), checks: [checkReplaced('terraform_data.x')] },
        { config: STEADY('b'), checks: [checkAttr('terraform_data.x', 'input', /^b$/)] },
      ]),
    ).resolves.toBeDefined();
    await expect(runSteps(offline, [{ config: STEADY('a') }, { name: 'in place', config: STEADY('b'), checks: [checkReplaced('terraform_data.x')] }])).rejects.toThrow(
      /^step 2 \(in place\): a check failed: expected terraform_data\.x to be replaced \(id to change\)/,
    );
    await expect(runSteps(offline, [{ config: replaced('1') }, { config: replaced('2'), checks: [checkNotReplaced('terraform_data.x')] }])).rejects.toThrow(
      /^step 2: a check failed: expected terraform_data\.x to be kept/,
    );
    await expect(runSteps(offline, [{ config: STEADY('a'), checks: [checkAttr('terraform_data.x', 'input', 'z')] }])).rejects.toThrow(
      /^step 1: a check failed: expected terraform_data\.x\.input to be "z", but it is "a"/,
    );
  });

  test('runs the final destroy and its check even after a failed step', async () => {
    let destroyChecked = false;
    await expect(
      runSteps({ ...offline, checkDestroy: () => (destroyChecked = true) }, [{ config: STEADY('a') }, { config: PERPETUAL }]),
    ).rejects.toThrow(/^step 2:/);
    expect(destroyChecked).toBe(true);
  });

  describe('with the appreg provider and a real service', () => {
    let svc: TestService;
    let api: AppregClient;
    beforeAll(async () => {
      requireBuiltProvider();
      svc = await startTestService({ groups: ['platform'] });
      api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
    });
    afterAll(async () => {
      api?.close();
      await svc?.close();
    });
    const config = `${PROVIDER_PREAMBLE}
data "appreg_group" "platform" { name = "platform" }
resource "appreg_tenant_oauth_setting" "this" { oauth_enabled = true }
resource "appreg_oauth_client" "web" {
  group_id      = data.appreg_group.platform.id
  name          = "Web"
  scope         = "group"
  callback_urls = ["https://web.example.com/cb"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}
`;
    const base = () => ({ endpoint: svc.url, token: svc.adminToken, checkDestroy: async () => expect(await api.listAllApps()).toEqual([]) });

    test('import verify fails on an attribute the import cannot know unless it is ignored', async () => {
      await expect(
        runSteps(base(), [{ config }, { name: 'import', importState: { address: 'appreg_oauth_client.web' }, importStateVerify: true }]),
      ).rejects.toThrow(/^step 2 \(import\): expected the imported appreg_oauth_client\.web to equal the one in state \(ignoring nothing\), but:\n {2}client_secret: in state "[^"]+", imported null/);
      await expect(
        runSteps(base(), [
          { config },
          { importState: { address: 'appreg_oauth_client.web' }, importStateVerify: true, importStateVerifyIgnore: ['client_secret'] },
        ]),
      ).resolves.toBeDefined();
    });

    test('a failed step must change nothing in the service: a snapshot that moves fails it', async () => {
      let calls = 0;
      const bad = config.replace('name          = "Web"', 'name          = "bad.name"');
      await expect(
        runSteps({ ...base(), serviceSnapshot: async () => ++calls }, [{ config }, { config: bad, expectError: /Invalid app name/ }]),
      ).rejects.toThrow(/^step 2: expected the failed step to change nothing in the service, but it did:\nbefore: 1\nafter: {2}2/);
    });

    test('drift made by hand in preConfig is undone by the apply, so the re-plan is empty', async () => {
      await expect(
        runSteps(base(), [
          { config },
          {
            preConfig: async (ctx) => {
              await api.updateApp(ctx.previous!.str('appreg_oauth_client.web', 'id'), { name: 'Changed By Hand' });
            },
            planChecks: [(plan) => expect(plan.code).toBe(2)],
            checks: [checkAttr('appreg_oauth_client.web', 'name', 'Web'), checkNotReplaced('appreg_oauth_client.web')],
          },
        ]),
      ).resolves.toBeDefined();
    });
  });

  test('a StepError names its step', () => {
    expect(new StepError(3, 'rotate', 'boom').message).toBe('step 3 (rotate): boom');
  });
});
