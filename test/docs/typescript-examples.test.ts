/**
 * The TypeScript (CDK for Terraform) examples the docs show, as a user's
 * project would use them:
 *
 * 1. type-checked with this repository's TypeScript and strict settings
 *    against the generated bindings, `@appreg/provider-cdktf` resolving to
 *    provider/ (test/docs/tsconfig.examples.json);
 * 2. run, each on its own, which synthesizes its stack;
 * 3. planned with the real `terraform` and this checkout's provider against a
 *    real service, next to the HCL example it mirrors, and the two plans'
 *    configurations (resources, their expressions and references, outputs)
 *    must be the same: the TypeScript example says what the HCL one says.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CDKTF_PACKAGE, exampleFiles, PROVIDER_EXAMPLE, PROVIDER_TS_EXAMPLE, type DocKind } from '../../scripts/docs';
import { appregProvider } from '../../src/schema';
import { runProcess } from '../support/process';
import { startTestService, type TestService } from '../support/service';
import { REPO_ROOT, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(300_000);

/** One HCL example and its TypeScript twin. */
interface Pair {
  name: string;
  hcl: string;
  ts: string;
}

const pairs: Pair[] = [
  { name: 'provider', hcl: PROVIDER_EXAMPLE, ts: PROVIDER_TS_EXAMPLE },
  ...([['resource', appregProvider.resources], ['data source', appregProvider.dataSources]] as const).flatMap(([kind, types]) =>
    types.map((t) => ({ name: `${kind} ${t.typeName}`, ...exampleFiles(kind as DocKind, t.typeName) })),
  ),
];

let work: string;
let svc: TestService;

beforeAll(async () => {
  requireTerraform();
  requireBuiltProvider();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-ts-examples-'));
  // A tenant where every example plans: OAuth on, and the "Partner Portal" the lookups find, owned by platform.
  svc = await startTestService({ groups: ['platform', 'billing'] });
  const admin = { authorization: `Bearer ${svc.adminToken}`, 'content-type': 'application/json' };
  for (const [method, url, body] of [
    ['PUT', '/v1/tenant/oauth-settings', { oauth_enabled: true }],
    ['POST', `/v1/groups/${svc.groups.platform}/apps`, { name: 'Partner Portal', callback_urls: ['https://portal.example.com/oauth/callback'], scope: 'organization' }],
  ] as const) {
    const res = await fetch(`${svc.url}${url}`, { method, headers: admin, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`setup ${method} ${url}: ${res.status} ${await res.text()}`);
  }
});

afterAll(async () => {
  await svc?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Compiles every example with the examples' tsconfig into `work/out`; throws with tsc's diagnostics. */
async function compileExamples(): Promise<string> {
  const out = path.join(work, 'out');
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await runProcess(process.execPath, [tsc, '-p', path.join(REPO_ROOT, 'test', 'docs', 'tsconfig.examples.json'), '--outDir', out, '--pretty', 'false'], { cwd: REPO_ROOT });
  if (r.code !== 0) throw new Error(`The TypeScript examples do not type-check:\n${r.stdout}${r.stderr}`);
  // The package name resolves as it would from node_modules: to the compiled bindings.
  const pkg = path.join(work, 'modules', ...CDKTF_PACKAGE.split('/'));
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, 'index.js'), `module.exports = require(${JSON.stringify(path.join(out, 'provider', 'index.js'))});\n`);
  return out;
}

/** Runs a compiled example and returns its synthesized stack (the only one it makes). */
async function synthesize(out: string, tsRel: string): Promise<Record<string, any>> {
  const js = path.join(out, tsRel.replace(/\.ts$/, '.js'));
  const outdir = path.join(work, 'synth', tsRel.replace(/[/.]/g, '_'));
  fs.mkdirSync(outdir, { recursive: true });
  const r = await runProcess(process.execPath, [js], {
    cwd: work,
    env: { ...process.env, CDKTF_OUTDIR: outdir, NODE_PATH: [path.join(work, 'modules'), path.join(REPO_ROOT, 'node_modules')].join(path.delimiter) },
  });
  if (r.code !== 0) throw new Error(`${tsRel} failed to run:\n${r.stdout}${r.stderr}`);
  const stacks = fs.readdirSync(path.join(outdir, 'stacks'));
  expect({ example: tsRel, stacks: stacks.length }).toEqual({ example: tsRel, stacks: 1 });
  return JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stacks[0]!, 'cdk.tf.json'), 'utf8')) as Record<string, any>;
}

/** What a configuration says, from `terraform show -json` of its plan: resources with their expressions, and outputs. */
interface Intent {
  resources: unknown[];
  outputs: unknown;
}

/**
 * An expression as both syntaxes share it: its sorted references, or its
 * constant. Terraform also reports the raw `${...}` template of a JSON
 * configuration as a "constant", and lists references in source order;
 * neither says anything about intent.
 */
function normalize(expr: unknown): unknown {
  if (Array.isArray(expr)) return expr.map(normalize);
  if (expr === null || typeof expr !== 'object') return expr;
  const e = expr as Record<string, unknown>;
  if (Array.isArray(e.references)) return { references: [...new Set(e.references as string[])].sort() };
  if ('constant_value' in e) return { constant_value: e.constant_value };
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, normalize(v)]));
}

/** Plans `files` in a fresh workspace against the service and returns the configuration Terraform read. */
async function planIntent(files: Record<string, string>): Promise<Intent> {
  // No trace log: these plans only need to succeed, and tracing makes them several times slower.
  const ws = new TerraformWorkspace({ endpoint: svc.url, token: svc.adminToken, extraEnv: { TF_LOG: '' } });
  try {
    for (const [name, text] of Object.entries(files)) ws.write(text, name);
    const plan = await ws.run(['plan', '-input=false', '-no-color', '-out=plan.bin']);
    if (plan.code !== 0) throw new Error(`terraform plan failed:\n${plan.stdout}\n${plan.stderr}`);
    const shown = JSON.parse((await ws.ok(['show', '-json', 'plan.bin'])).stdout) as { configuration: { root_module: { resources?: any[]; outputs?: unknown } } };
    const mod = shown.configuration.root_module;
    return {
      // Sorted by address; the provider's config key is the same "appreg" in both and says nothing of intent.
      resources: (mod.resources ?? [])
        .map(({ provider_config_key: _k, expressions, ...r }) => ({ ...r, expressions: normalize(expressions) }))
        .sort((a, b) => (a.address < b.address ? -1 : 1)),
      outputs: normalize(mod.outputs ?? {}),
    };
  } finally {
    ws.dispose();
  }
}

describe('TypeScript examples', () => {
  let out: string;

  beforeAll(async () => {
    out = await compileExamples();
  });

  test('import the classes from the package name, never from a path', () => {
    for (const { ts } of pairs) {
      const text = fs.readFileSync(path.join(REPO_ROOT, ts), 'utf8');
      expect({ ts, imports: [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]).sort() }).toEqual({ ts, imports: [CDKTF_PACKAGE, 'cdktf', 'constructs'] });
    }
  });

  test.each(pairs)('$name: synthesizes, plans against a real service, and says what the HCL example says', async ({ hcl, ts }) => {
    const stack = await synthesize(out, ts);
    // cdktf adds a local state backend of its own; it is not part of the example, and a plan without `init` cannot use one.
    delete stack.terraform?.backend;
    expect(stack.terraform.required_providers.appreg.source).toBe('appreg/appreg');
    const provider = fs.readFileSync(path.join(REPO_ROOT, PROVIDER_EXAMPLE), 'utf8');
    const hclFiles: Record<string, string> = { 'provider.tf': provider };
    if (hcl !== PROVIDER_EXAMPLE) hclFiles['example.tf'] = fs.readFileSync(path.join(REPO_ROOT, hcl), 'utf8');
    const [fromHcl, fromTs] = await Promise.all([planIntent(hclFiles), planIntent({ 'main.tf.json': JSON.stringify(stack, null, 2) })]);
    expect(fromTs).toEqual(fromHcl);
  });
});
