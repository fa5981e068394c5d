/**
 * A team's two machines, emulated with two HOME folders A and B: each
 * installs the same released zip (`appreg provider install --from`), A runs
 * `terraform init` and makes `.terraform.lock.hcl`, and B accepts that lock
 * file as it is (`-lockfile=readonly`) and then plans and applies real
 * registrations against a real service with a PATH that has Terraform and
 * no Node. The zip is copied out of the release folder first, so nothing B
 * uses refers to this checkout. Then the cdktf bindings tarball of the same
 * release goes into a fresh app in B, whose synthesized stack Terraform
 * initializes and plans with the provider from B's mirror.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yazl from 'yazl';
import { tarballName } from '../../scripts/release/bindings';
import { providerExecutableName, providerZipName, sha256File, sha256SumsName, terraformPlatform } from '../../scripts/release/names';
import { AppregClient } from '../../src/client';
import { VERSION } from '../../src/version';
import { runProcess, type ProcessRun } from '../support/process';
import { startTestService, type TestService } from '../support/service';
import { REPO_ROOT, requireBuiltProvider, requireTerraform } from '../support/terraform';

jest.setTimeout(15 * 60 * 1000);

const APPREG = path.join(REPO_ROOT, 'bin', 'appreg');
const PLATFORM = terraformPlatform();
const ZIP = providerZipName(VERSION, PLATFORM);

/** A plain configuration, as a team writes it: the provider pinned to the released version. */
const config = (groupId: string): string => `terraform {
  required_providers {
    appreg = {
      source  = "appreg/appreg"
      version = "${VERSION}"
    }
  }
}

provider "appreg" {}

resource "appreg_tenant_oauth_setting" "this" {
  oauth_enabled = true
}

resource "appreg_oauth_client" "portal" {
  group_id      = "${groupId}"
  name          = "Second Machine Portal"
  scope         = "group"
  callback_urls = ["https://portal.example.com/callback"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}
`;

/** The environment without what `npm test`/`npx` put in it, so npm in the app behaves as a user's shell would. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD' && !k.startsWith('TF_')));
}

async function mustRun(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ProcessRun> {
  const r = await runProcess(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.code} in ${opts.cwd}\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe('the release on a second machine', () => {
  let svc: TestService;
  let work: string;
  let download: string;
  let built: string;
  let bindingsTarball: string;
  const machines: Record<'A' | 'B', { home: string; ws: string; env: NodeJS.ProcessEnv }> = {} as never;

  /** Terraform as machine `m` runs it: its own HOME (so its own implied mirror), an empty CLI configuration, no TF_* of this shell. */
  const terraform = (m: 'A' | 'B', args: string[], cwd?: string): Promise<ProcessRun> =>
    runProcess('terraform', args, { cwd: cwd ?? machines[m].ws, env: machines[m].env });

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-second-machine-'));
    // The whole release, as `npm run release` makes it (after its tsc step), into a folder of its own.
    built = path.join(work, 'built');
    await mustRun(process.execPath, [path.join(REPO_ROOT, 'dist', 'scripts', 'release.js'), '--out', built], { cwd: work, env: cleanEnv() });
    bindingsTarball = path.join(built, tarballName('@appreg/provider-cdktf', VERSION));
    // What a team member downloads: the zip and its checksums, nowhere near the checkout.
    download = path.join(work, 'download');
    fs.mkdirSync(download);
    for (const f of [ZIP, sha256SumsName(VERSION)]) fs.copyFileSync(path.join(built, f), path.join(download, f));

    svc = await startTestService();
    // B's PATH: a folder holding only a link to terraform.
    const terraformPath = spawnSync('which', ['terraform'], { encoding: 'utf8' }).stdout.trim();
    const tfOnly = path.join(work, 'tf-only-bin');
    fs.mkdirSync(tfOnly);
    fs.symlinkSync(terraformPath, path.join(tfOnly, 'terraform'));
    for (const m of ['A', 'B'] as const) {
      const home = path.join(work, `home-${m}`);
      const ws = path.join(home, 'infra');
      fs.mkdirSync(ws, { recursive: true });
      const cliConfig = path.join(home, 'empty.tfrc');
      fs.writeFileSync(cliConfig, '');
      machines[m] = {
        home,
        ws,
        env: {
          HOME: home,
          PATH: m === 'A' ? (process.env.PATH ?? '') : tfOnly,
          // An empty CLI configuration: the implied local mirror in HOME, no dev_overrides.
          TF_CLI_CONFIG_FILE: cliConfig,
          TF_IN_AUTOMATION: '1',
          TF_INPUT: '0',
          CHECKPOINT_DISABLE: '1',
          APPREG_ENDPOINT: svc.url,
          APPREG_TOKEN: svc.adminToken,
        },
      };
    }
  });

  afterAll(async () => {
    await svc?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('installs on both machines, shares one lock file, and plans and applies on B with no Node on PATH', async () => {
    const installed: string[] = [];
    for (const m of ['A', 'B'] as const) {
      const r = await runProcess(APPREG, ['provider', 'install', '--from', path.join(download, ZIP)], { cwd: work, env: { ...cleanEnv(), HOME: machines[m].home } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { installed: string; version: string; platform: string; sha256: string };
      expect(out).toEqual({
        installed: path.join(machines[m].home, '.terraform.d', 'plugins', 'registry.terraform.io', 'appreg', 'appreg', ZIP),
        version: VERSION,
        platform: PLATFORM,
        sha256: sha256File(path.join(download, ZIP)),
      });
      installed.push(out.installed);
    }
    expect(sha256File(installed[0]!)).toBe(sha256File(installed[1]!));

    // Machine A: terraform init records the provider's checksum.
    fs.writeFileSync(path.join(machines.A.ws, 'main.tf'), config(svc.groups.platform!));
    const initA = await terraform('A', ['init', '-no-color', '-input=false']);
    expect(initA.stderr).toBe('');
    expect(initA.code).toBe(0);
    const lock = fs.readFileSync(path.join(machines.A.ws, '.terraform.lock.hcl'), 'utf8');
    expect(lock).toContain('provider "registry.terraform.io/appreg/appreg"');
    expect(lock).toContain(`version     = "${VERSION}"`);
    expect(lock).toMatch(/"h1:[A-Za-z0-9+/=]+"/);

    // Machine B: the committed config and lock file, checked as they are.
    for (const f of ['main.tf', '.terraform.lock.hcl']) fs.copyFileSync(path.join(machines.A.ws, f), path.join(machines.B.ws, f));
    expect(spawnSync('node', ['--version'], { env: machines.B.env }).error).toMatchObject({ code: 'ENOENT' });
    expect((await terraform('B', ['version'])).code).toBe(0);
    const initB = await terraform('B', ['init', '-no-color', '-input=false', '-lockfile=readonly']);
    expect(initB.stderr).toBe('');
    expect(initB.code).toBe(0);
    expect(fs.readFileSync(path.join(machines.B.ws, '.terraform.lock.hcl'), 'utf8')).toBe(lock);
    // Terraform unpacked the zip into the workspace: a real file, not a link into the checkout.
    const exe = path.join(machines.B.ws, '.terraform', 'providers', 'registry.terraform.io', 'appreg', 'appreg', VERSION, PLATFORM, providerExecutableName(VERSION));
    expect(fs.lstatSync(exe).isFile()).toBe(true);
    expect(fs.readFileSync(exe).includes(Buffer.from(REPO_ROOT))).toBe(false);

    const plan = await terraform('B', ['plan', '-no-color', '-input=false', '-detailed-exitcode', '-out=tfplan']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('2 to add, 0 to change, 0 to destroy');
    const apply = await terraform('B', ['apply', '-no-color', '-input=false', 'tfplan']);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('Apply complete! Resources: 2 added, 0 changed, 0 destroyed.');
    const again = await terraform('B', ['plan', '-no-color', '-input=false', '-detailed-exitcode']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);

    const api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
    try {
      const apps = await api.listAllApps({ group_id: svc.groups.platform! });
      expect(apps.map((a) => a.name)).toEqual(['Second Machine Portal']);
      expect((await api.getTenantSettings()).oauth_enabled).toBe(true);
    } finally {
      api.close();
    }
  });

  // Hiding the checkout needs a private mount namespace (root, or a kernel that
  // allows user namespaces); where neither is allowed the test is skipped and says so.
  const hideCheckout = spawnSync('unshare', ['-m', 'true']).status === 0;
  (hideCheckout ? it : it.skip)(
    hideCheckout
      ? 'keeps working with the checkout moved away: B plans with no changes while the checkout is hidden'
      : 'keeps working with the checkout moved away (skipped: `unshare -m` is not allowed here, so the checkout cannot be hidden)',
    async () => {
      const empty = path.join(work, 'no-checkout');
      fs.mkdirSync(empty, { recursive: true });
      // An empty folder mounted over the checkout, seen only by this shell and its children:
      // Terraform and the provider it starts find nothing where the checkout was.
      // Tools by absolute path, so B's PATH stays Terraform only (no Node).
      const script = `/usr/bin/mount --bind "$1" "$2" && test -z "$(/bin/ls -A "$2")" && exec terraform plan -no-color -input=false -detailed-exitcode`;
      const r = await runProcess('/usr/bin/unshare', ['-m', '/bin/sh', '-c', script, 'sh', empty, REPO_ROOT], { cwd: machines.B.ws, env: machines.B.env });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('No changes.');
      expect(r.code).toBe(0);
    },
  );

  it('refuses another zip of the same version without --force, and keeps the installed one', async () => {
    const other = path.join(work, 'other');
    fs.mkdirSync(other);
    const fake = path.join(other, ZIP);
    await new Promise<void>((resolve, reject) => {
      const zip = new yazl.ZipFile();
      const out = fs.createWriteStream(fake);
      out.on('error', reject);
      out.on('close', () => resolve());
      zip.outputStream.pipe(out);
      zip.addBuffer(Buffer.from('#!/bin/sh\necho a rebuilt provider\n'), providerExecutableName(VERSION), { mode: 0o100755 });
      zip.end();
    });
    const mirrorZip = path.join(machines.B.home, '.terraform.d', 'plugins', 'registry.terraform.io', 'appreg', 'appreg', ZIP);
    const before = sha256File(mirrorZip);
    const r = await runProcess(APPREG, ['provider', 'install', '--from', fake], { cwd: work, env: { ...cleanEnv(), HOME: machines.B.home } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^appreg: appreg\/appreg \S+ \(\S+\) is already installed in .* with a different checksum .*a changed provider needs a new version number.*--force.*\n$/);
    expect(sha256File(mirrorZip)).toBe(before);
  });

  it('a fresh cdktf app on B installs the bindings tarball, synthesizes, and Terraform plans it with the mirror provider', async () => {
    expect(fs.existsSync(bindingsTarball)).toBe(true);
    const app = path.join(machines.B.home, 'cdktf-app');
    fs.mkdirSync(app);
    fs.copyFileSync(bindingsTarball, path.join(app, path.basename(bindingsTarball)));
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'registrations', version: '1.0.0', private: true }, null, 2));
    // npm needs Node, so it runs with the usual PATH (and cache); only Terraform runs with B's PATH.
    await mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${path.basename(bindingsTarball)}`, 'cdktf@0.21', 'constructs@10.7.2'], { cwd: app, env: cleanEnv() });
    fs.writeFileSync(
      path.join(app, 'main.js'),
      `const { App, TerraformStack } = require('cdktf');
const { AppregProvider, TenantOauthSetting, OauthClient } = require('@appreg/provider-cdktf');
const app = new App({ outdir: 'cdktf.out' });
const stack = new TerraformStack(app, 'registrations');
new AppregProvider(stack, 'appreg', {});
const tenant = new TenantOauthSetting(stack, 'tenant', { oauthEnabled: true });
new OauthClient(stack, 'cli', {
  groupId: process.env.GROUP_ID,
  name: 'Synthesized CLI',
  scope: 'group',
  callbackUrls: ['http://localhost:8400/callback'],
  publicClient: true,
  dependsOn: [tenant],
});
app.synth();
`,
    );
    await mustRun(process.execPath, ['main.js'], { cwd: app, env: { ...cleanEnv(), GROUP_ID: svc.groups.billing! } });
    const stackDir = path.join(app, 'cdktf.out', 'stacks', 'registrations');
    const synthesized = fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8');
    expect(JSON.parse(synthesized).terraform.required_providers.appreg).toMatchObject({ source: 'appreg/appreg' });
    expect(synthesized).not.toContain(REPO_ROOT);

    const init = await terraform('B', ['init', '-no-color', '-input=false'], stackDir);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    // The same provider package as the plain configuration's lock file records.
    const hashes = (file: string): string[] => [...fs.readFileSync(file, 'utf8').matchAll(/"(h1:[^"]+)"/g)].map((m) => m[1]!);
    expect(hashes(path.join(stackDir, '.terraform.lock.hcl'))).toEqual(hashes(path.join(machines.B.ws, '.terraform.lock.hcl')));
    const plan = await terraform('B', ['plan', '-no-color', '-input=false', '-detailed-exitcode'], stackDir);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(2);
    // A stack of its own, with its own state: both resources are new to it.
    expect(plan.stdout).toMatch(/appreg_oauth_client\.\S*cli/);
    expect(plan.stdout).toMatch(/Plan: 2 to add, 0 to change, 0 to destroy/);
  });
});
