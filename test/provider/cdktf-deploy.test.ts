/**
 * The cdktf CLI route: `cdktf deploy`, `diff` and `destroy` on the
 * organization-app example, with the provider from the mirror that
 * `appreg provider install` fills. `cdktf deploy` always runs
 * `terraform init`, which ignores `dev_overrides`; this is what the mirror is
 * for. The implied local mirror (`~/.terraform.d/plugins`) is used, under a
 * temporary HOME, so the user's own home is never touched.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppregClient } from '../../src/client';
import { runProcess } from '../support/process';
import { startTestService, type TestService } from '../support/service';
import { REPO_ROOT, requireBuiltProvider, requireTerraform } from '../support/terraform';

jest.setTimeout(300_000);

interface Run {
  code: number;
  output: string;
}

describe('cdktf deploy with the provider installed by appreg provider install', () => {
  let svc: TestService;
  let api: AppregClient;
  let work: string;
  let project: string;
  let env: NodeJS.ProcessEnv;
  const outputs: string[] = [];

  const run = async (cmd: string, args: string[], cwd: string): Promise<Run> => {
    const r = await runProcess(cmd, args, { cwd, env });
    const output = r.stdout + r.stderr;
    outputs.push(output);
    return { code: r.code, output };
  };
  const cdktf = (args: string[]): Promise<Run> => run(path.join(REPO_ROOT, 'node_modules', '.bin', 'cdktf'), args, project);

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService();
    api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-cdktf-'));
    project = path.join(work, 'project');
    fs.mkdirSync(project);
    fs.mkdirSync(path.join(work, 'home'));
    const { TF_CLI_CONFIG_FILE: _ignored, ...rest } = process.env;
    env = {
      ...rest, // no CLI configuration: Terraform searches the implied local mirror in HOME
      HOME: path.join(work, 'home'),
      CI: '1',
      CHECKPOINT_DISABLE: '1',
      TF_IN_AUTOMATION: '1',
      APPREG_ENDPOINT: svc.url,
      APPREG_TOKEN: svc.adminToken,
    };
    fs.writeFileSync(
      path.join(project, 'cdktf.json'),
      JSON.stringify({
        language: 'typescript',
        app: `node ${JSON.stringify(path.join(REPO_ROOT, 'dist', 'examples', 'organization-app', 'main.js'))}`,
        codeMakerOutput: 'provider',
        terraformProviders: [],
        sendCrashReports: 'false',
      }),
    );
    const install = await run(path.join(REPO_ROOT, 'bin', 'appreg'), ['provider', 'install'], work);
    expect(install.code).toBe(0);
    expect(JSON.parse(install.output).installed).toContain(path.join(work, 'home', '.terraform.d', 'plugins', 'registry.terraform.io', 'appreg', 'appreg'));
  });

  afterAll(async () => {
    api?.close();
    await svc?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('deploy synthesizes, initializes from the mirror and applies', async () => {
    const r = await cdktf(['deploy', 'organization-app', '--auto-approve', '--skip-provider-lock']);
    expect(r.output).toContain('Apply complete! Resources: 4 added, 0 changed, 0 destroyed.');
    expect(r.code).toBe(0);
    const apps = await api.listAllApps();
    expect(apps.map((a) => a.name)).toEqual(['Customer Portal']);
    expect(r.output).toContain(`client_id = ${apps[0]!.client_id}`);
    expect(r.output).toMatch(/client_secret = <sensitive>/);
  });

  it('diff after deploy shows no changes', async () => {
    const r = await cdktf(['diff', 'organization-app']);
    expect(r.code).toBe(0);
    expect(r.output).toContain('No changes.');
  });

  it('destroy leaves the service without apps or consents', async () => {
    const r = await cdktf(['destroy', 'organization-app', '--auto-approve']);
    expect(r.code).toBe(0);
    expect(r.output).toContain('Destroy complete! Resources: 4 destroyed.');
    expect(await api.listAllApps()).toEqual([]);
    expect(await api.listAllConsents({})).toEqual([]);
  });

  it('prints no token', () => {
    const all = outputs.join('\n');
    expect(all).toContain('organization-app');
    expect(all).not.toContain(svc.adminToken);
  });
});
