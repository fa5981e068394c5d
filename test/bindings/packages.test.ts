/**
 * The bindings as a user gets them: the tarballs `npm run release` ships
 * (scripts/release/bindings.ts), installed with npm into a fresh app outside
 * this repository, imported by package name, compiled with strict TypeScript,
 * synthesized, and planned, applied and destroyed with real Terraform, the
 * provider of this checkout and a real registration service.
 *
 * Nothing of the repository leaks into the app: it resolves cdktf/cdktn,
 * constructs and the bindings from its own node_modules, as a user's app does.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FLAVOUR_SPECS, FLAVOURS, readBindings, type Flavour } from '../../scripts/generate';
import { packBindings, tarballName } from '../../scripts/release/bindings';
import { VERSION } from '../../src/version';
import { runProcess, type ProcessRun } from '../support/process';
import { startTestService, type TestService } from '../support/service';
import { REPO_ROOT, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(15 * 60 * 1000);

/** What the app installs next to each tarball: the versions a user of that flavour would pick. */
const PEERS: Record<Flavour, string[]> = {
  cdktf: ['cdktf@0.21', 'constructs@10.7.2'],
  cdktn: ['cdktn@0.24.0', 'constructs@10.7.2'],
};

const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Strict, and no skipLibCheck: the package's declarations are checked as the user's compiler sees them. */
const TSC_FLAGS = ['--strict', '--target', 'ES2022', '--module', 'commonjs', '--moduleResolution', 'node', '--noEmitOnError'];

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** The environment without what `npm test`/`npx` put in it, so the app's npm behaves as a user's shell would. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
}

async function mustRun(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<ProcessRun> {
  const r = await runProcess(cmd, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv() });
  if (r.code !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.code} in ${opts.cwd}\n${r.stdout}\n${r.stderr}`);
  return r;
}

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    return e.isDirectory() ? listFiles(path.join(dir, e.name), rel) : [rel];
  });
}

/** A user's program: imports by package name, a tenant setting the client depends on, a group looked up by name. */
function mainTs(flavour: Flavour, appName: string, callbackUrls: string[]): string {
  const lib = FLAVOUR_SPECS[flavour].library;
  return `import { App, TerraformOutput, TerraformStack } from '${lib}';
import type { Construct } from 'constructs';
import { AppregProvider, DataAppregGroup, OauthClient, TenantOauthSetting } from '${FLAVOUR_SPECS[flavour].packageName}';

class Registrations extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Endpoint and token come from APPREG_ENDPOINT and APPREG_TOKEN.
    new AppregProvider(this, 'appreg');
    const oauth = new TenantOauthSetting(this, 'oauth', { oauthEnabled: true });
    const group = new DataAppregGroup(this, 'platform', { name: 'platform' });
    const client: OauthClient = new OauthClient(this, 'portal', {
      groupId: group.id,
      name: ${JSON.stringify(appName)},
      scope: 'group',
      callbackUrls: ${JSON.stringify(callbackUrls)},
      dependsOn: [oauth],
    });
    const clientId: string = client.clientId;
    new TerraformOutput(this, 'client_id', { value: clientId });
    new TerraformOutput(this, 'app_id', { value: client.id });
  }
}

const app = new App({ outdir: 'synth-out' });
new Registrations(app, 'registrations');
app.synth();
`;
}

/** A mistake the package's types must catch: a number for a string attribute. */
function wrongTs(flavour: Flavour): string {
  return `import { App, TerraformStack } from '${FLAVOUR_SPECS[flavour].library}';
import { OauthClient } from '${FLAVOUR_SPECS[flavour].packageName}';
const stack = new TerraformStack(new App(), 'wrong');
new OauthClient(stack, 'c', { groupId: 'g', name: 42, scope: 'group', callbackUrls: ['https://x.example/cb'] });
`;
}

/**
 * A Terraform CLI configuration in `dir` that runs this checkout's provider.
 * `dev_overrides` serve plan, apply and destroy, as in test/support/terraform.ts.
 * `terraform init` ignores them, though: for the version the bindings pin it
 * asks the registry, which is not reachable here (nor from a user's air-gapped
 * pipeline). So the same executable is also offered as an unpacked filesystem
 * mirror of that one version, and there is no `direct` block: a provider from
 * anywhere else fails the test instead of being fetched.
 */
function providerCliConfig(dir: string): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
  const mirror = path.join(dir, 'provider-mirror');
  const platformDir = path.join(mirror, 'registry.terraform.io', 'appreg', 'appreg', VERSION, `${process.platform}_${arch}`);
  fs.mkdirSync(platformDir, { recursive: true });
  // A link, not a copy: bin/terraform-provider-appreg finds dist/ from its own resolved path.
  fs.symlinkSync(path.join(REPO_ROOT, 'bin', 'terraform-provider-appreg'), path.join(platformDir, 'terraform-provider-appreg'));
  const file = path.join(dir, 'terraform.rc');
  fs.writeFileSync(
    file,
    [
      'provider_installation {',
      '  dev_overrides {',
      `    "appreg/appreg" = ${JSON.stringify(path.join(REPO_ROOT, 'bin'))}`,
      '  }',
      '  filesystem_mirror {',
      `    path    = ${JSON.stringify(mirror)}`,
      '    include = ["appreg/appreg"]',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  return file;
}

interface ServiceApp {
  id: string;
  client_id: string;
  name: string;
  group_id: string;
  scope: string;
  callback_urls: string[];
}

async function api(service: TestService, urlPath: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${service.url}${urlPath}`, { headers: { authorization: `Bearer ${service.adminToken}` } });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

let packDir: string;
let tarballs: string[];
let service: TestService;

beforeAll(async () => {
  requireTerraform();
  requireBuiltProvider();
  packDir = tempDir('appreg-pack-test-');
  tarballs = await packBindings(packDir);
  service = await startTestService({ groups: ['platform'] });
});

afterAll(async () => {
  await service?.close();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the bindings tarballs', () => {
  test('one per flavour, named after the package and the version of this checkout', () => {
    expect(tarballs).toEqual([
      path.join(packDir, `appreg-provider-cdktf-${VERSION}.tgz`),
      path.join(packDir, `appreg-provider-cdktn-${VERSION}.tgz`),
    ]);
    expect(tarballName('@appreg/provider-cdktn', '1.2.3')).toBe('appreg-provider-cdktn-1.2.3.tgz');
    for (const t of tarballs) expect(fs.statSync(t).size).toBeGreaterThan(1000);
  });

  test('reproducible: packing the same checkout again gives the same bytes', async () => {
    const again = await packBindings(tempDir('appreg-pack-again-'));
    expect(again.map(sha256)).toEqual(tarballs.map(sha256));
  });

  test.each(FLAVOURS)('%s: JavaScript, declarations, READMEs and the generated package.json; no TypeScript sources, nothing of this machine', async (flavour) => {
    const out = tempDir('appreg-untar-');
    await mustRun('tar', ['-xzf', tarballs[FLAVOURS.indexOf(flavour)]!, '-C', out], { cwd: out });
    const pkgDir = path.join(out, 'package');
    const files = listFiles(pkgDir).sort();
    const generated = readBindings(path.join(REPO_ROOT, flavour === 'cdktf' ? 'provider' : 'provider-cdktn'));
    const expected = [...generated.keys()]
      .flatMap((rel) => (rel.endsWith('.ts') ? [rel.replace(/\.ts$/, '.js'), rel.replace(/\.ts$/, '.d.ts')] : rel === '.gitattributes' ? [] : [rel]))
      .sort();
    expect(files).toEqual(expected);
    // The package.json is the generated one, byte for byte: the version cannot drift from the provider's.
    expect(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).toBe(generated.get('package.json'));
    for (const rel of files) {
      const content = fs.readFileSync(path.join(pkgDir, rel), 'utf8');
      expect({ rel, leaks: [REPO_ROOT, os.tmpdir() + path.sep, os.homedir() + path.sep].filter((s) => content.includes(s)) }).toEqual({ rel, leaks: [] });
    }
    // The root of the package exports every class DOMAIN.md names.
    const rootDts = fs.readFileSync(path.join(pkgDir, 'index.d.ts'), 'utf8');
    expect(rootDts).toContain("export * from './oauth-client");
    expect(fs.readFileSync(path.join(pkgDir, 'oauth-client', 'index.js'), 'utf8')).toContain(`require("${FLAVOUR_SPECS[flavour].library}")`);
  });
});

describe.each(FLAVOURS)('%s: installed into a fresh app, outside the repository', (flavour) => {
  const spec = FLAVOUR_SPECS[flavour];
  const appName = `Partner Portal ${flavour}`;
  const callbackUrls = [`https://portal.example.com/${flavour}/callback`, 'http://localhost:8080/callback'];
  let app: string;

  beforeAll(async () => {
    app = tempDir(`appreg-user-app-${flavour}-`);
    expect(path.relative(REPO_ROOT, app).startsWith('..')).toBe(true);
    fs.writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({ name: `user-app-${flavour}`, version: '1.0.0', private: true }, null, 2)}\n`);
    const tarball = tarballs[FLAVOURS.indexOf(flavour)]!;
    await mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...PEERS[flavour]], { cwd: app });
  });

  test('npm installed the package by name, with the peers the user chose', () => {
    const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', ...spec.packageName.split('/'), 'package.json'), 'utf8'));
    expect(installed).toMatchObject({ name: spec.packageName, version: VERSION });
    const dependencies = JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).dependencies;
    expect(Object.keys(dependencies).sort()).toEqual([spec.packageName, spec.library, 'constructs'].sort());
    // One constructs in the app, the one the user installed: the bindings bring none of their own.
    expect(JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'constructs', 'package.json'), 'utf8')).version).toBe('10.7.2');
    expect(fs.existsSync(path.join(app, 'node_modules', ...spec.packageName.split('/'), 'node_modules'))).toBe(false);
  });

  test('the package types catch a mistake under strict TypeScript', async () => {
    fs.writeFileSync(path.join(app, 'wrong.ts'), wrongTs(flavour));
    const r = await runProcess('node', [TSC, ...TSC_FLAGS, '--noEmit', 'wrong.ts'], { cwd: app, env: cleanEnv() });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/wrong\.ts\(4,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
  });

  test('imported by package name, compiled strictly, synthesized, applied with real Terraform; a second plan is empty; destroy removes the app', async () => {
    fs.writeFileSync(path.join(app, 'main.ts'), mainTs(flavour, appName, callbackUrls));
    await mustRun('node', [TSC, ...TSC_FLAGS, 'main.ts'], { cwd: app });
    await mustRun('node', ['main.js'], { cwd: app });

    const stackDir = path.join(app, 'synth-out', 'stacks', 'registrations');
    const synthesized = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
    // The bindings pin the provider of the same version as the package.
    expect(synthesized.terraform.required_providers.appreg).toEqual({ source: 'appreg/appreg', version: VERSION });
    expect(Object.keys(synthesized.resource.appreg_oauth_client)).toHaveLength(1);

    // Terraform runs in the synthesized stack folder, with the workspace's environment (endpoint,
    // token, log) and a CLI configuration of our own; see providerCliConfig.
    const ws = new TerraformWorkspace({ endpoint: service.url, token: service.adminToken, extraEnv: { TF_CLI_CONFIG_FILE: providerCliConfig(app) } });
    tempDirs.push(ws.dir);
    const tf = (args: string[]): Promise<ProcessRun> => runProcess('terraform', args, { cwd: stackDir, env: ws.env });
    const tfOk = async (args: string[]): Promise<ProcessRun> => {
      const r = await tf(args);
      if (r.code !== 0) throw new Error(`terraform ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
      return r;
    };

    await tfOk(['init', '-no-color', '-input=false']);
    const first = await tf(['plan', '-detailed-exitcode', '-no-color', '-input=false']);
    if (first.code !== 2) throw new Error(`first plan exited ${first.code}, expected 2 (changes)\n${first.stdout}\n${first.stderr}`);
    expect(first.stdout).toMatch(/Plan: 2 to add, 0 to change, 0 to destroy/);
    await tfOk(['apply', '-auto-approve', '-no-color', '-input=false']);

    const outputs = JSON.parse((await tfOk(['output', '-json'])).stdout) as Record<string, { value: string }>;
    const appId = Object.entries(outputs).find(([k]) => k.startsWith('app_id'))?.[1].value;
    const clientId = Object.entries(outputs).find(([k]) => k.startsWith('client_id'))?.[1].value;
    expect(typeof appId).toBe('string');

    // The app is in the service, as the code declared it.
    const got = await api(service, `/v1/apps/${appId}`);
    expect(got.status).toBe(200);
    const registered = got.body as ServiceApp;
    expect({ ...registered, callback_urls: [...registered.callback_urls].sort() }).toMatchObject({
      id: appId,
      client_id: clientId,
      name: appName,
      group_id: service.groups.platform,
      scope: 'group',
      callback_urls: [...callbackUrls].sort(),
    });

    const second = await tf(['plan', '-detailed-exitcode', '-no-color', '-input=false']);
    if (second.code !== 0) throw new Error(`second plan exited ${second.code}, expected 0 (no changes)\n${second.stdout}\n${second.stderr}`);
    expect(second.stdout).toContain('No changes.');

    await tfOk(['destroy', '-auto-approve', '-no-color', '-input=false']);
    expect((await api(service, `/v1/apps/${appId}`)).status).toBe(404);
  });
});
