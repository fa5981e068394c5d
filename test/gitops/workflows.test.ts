/**
 * The GitOps example (`examples/gitops`): its workflow files are checked for
 * what a reviewer of a pipeline would check, then each is run here, step by
 * step as written, against the real service and real Terraform: a pull
 * request is planned (summary, comment, artifact) without changing anything,
 * the merge applies, the nightly drift check passes, fails after a change by
 * hand, and passes again once the next apply has put it back.
 *
 * The steps that `uses:` an action are done by the test (see `actions`
 * below); the GitHub CLI is replaced by a recorder, since there is no GitHub
 * here. Only `Build appreg` is skipped: this checkout is already installed
 * and built by `npm test`, and is what `.appreg` points at.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppregClient } from '../../src/client';
import { loadWorkflow, runWorkflowJob, type ActionHandler, type JobResult, type Workflow } from '../support/actions';
import { runProcess } from '../support/process';
import { startTestService, type TestService } from '../support/service';
import { REPO_ROOT, requireBuiltProvider, requireTerraform } from '../support/terraform';

jest.setTimeout(180_000);

const GITOPS = path.join(REPO_ROOT, 'examples', 'gitops');
const WORKFLOWS = path.join(GITOPS, '.github', 'workflows');
const FILES = ['appreg-plan.yml', 'appreg-apply.yml', 'appreg-drift.yml'] as const;
const load = (f: (typeof FILES)[number]): Workflow => loadWorkflow(path.join(WORKFLOWS, f));
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps);

describe('the GitOps workflow files', () => {
  it.each(FILES)('%s parses, has one job with a time limit, and runs bash with pipefail', (f) => {
    const w = load(f);
    expect(w.name).toMatch(/^appreg /);
    expect(Object.keys(w.jobs)).toHaveLength(1);
    const job = Object.values(w.jobs)[0]!;
    expect(job['runs-on']).toBe('ubuntu-latest');
    expect(job['timeout-minutes']).toBeGreaterThan(0);
    expect(w.defaults?.run?.shell).toBe('bash');
  });

  it.each(FILES)('%s grants least privilege: contents read, plus pull-request comments for the plan only', (f) => {
    const expected = f === 'appreg-plan.yml' ? { contents: 'read', 'pull-requests': 'write' } : { contents: 'read' };
    expect(load(f).permissions).toEqual(expected);
  });

  it.each(FILES)('%s uses actions at a released major version, never a branch', (f) => {
    for (const s of steps(load(f)).filter((x) => x.uses)) expect(s.uses).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
  });

  it.each(FILES)('%s never expands an expression inside a script (no injection), passing values through env', (f) => {
    for (const s of steps(load(f)).filter((x) => x.run)) expect(s.run).not.toContain('${{');
  });

  it.each(FILES)('%s runs Terraform 1.11 or newer without the output-rewriting wrapper', (f) => {
    const setup = steps(load(f)).find((s) => s.uses?.startsWith('hashicorp/setup-terraform@'));
    expect(String(setup?.with?.terraform_version)).toMatch(/^1\.(1[1-9]|[2-9]\d)\.\d+$/);
    expect(setup?.with?.terraform_wrapper).toBe(false);
  });

  it('plans on pull requests to main, with a read-only token, one run per pull request', () => {
    const w = load('appreg-plan.yml');
    expect(Object.keys(w.on)).toEqual(['pull_request']);
    expect(w.on.pull_request).toEqual({ branches: ['main'] });
    expect(w.jobs.plan!.env!.APPREG_TOKEN).toBe('${{ secrets.APPREG_READ_TOKEN }}');
    expect(w.jobs.plan!.environment).toBeUndefined();
    expect(w.concurrency).toEqual({ group: 'appreg-plan-${{ github.event.pull_request.number }}', 'cancel-in-progress': true });
  });

  it('applies on merge to main in a protected environment, one apply at a time, never cancelled', () => {
    const w = load('appreg-apply.yml');
    expect(w.on.push).toEqual({ branches: ['main'] });
    expect(w.jobs.apply!.environment).toBe('production');
    expect(w.jobs.apply!.env!.APPREG_TOKEN).toBe('${{ secrets.APPREG_APPLY_TOKEN }}');
    expect(w.concurrency).toEqual({ group: 'appreg-apply', 'cancel-in-progress': false });
  });

  it('checks drift nightly and on demand, with the read-only token', () => {
    const w = load('appreg-drift.yml');
    const schedule = w.on.schedule as Array<{ cron: string }>;
    expect(schedule).toHaveLength(1);
    expect(schedule[0]!.cron.split(' ')).toHaveLength(5);
    expect(w.on).toHaveProperty('workflow_dispatch');
    expect(w.jobs.drift!.env!.APPREG_TOKEN).toBe('${{ secrets.APPREG_READ_TOKEN }}');
  });

  it('only the apply workflow can see the token that changes registrations', () => {
    for (const f of FILES) {
      const text = fs.readFileSync(path.join(WORKFLOWS, f), 'utf8');
      expect(text.includes('APPREG_APPLY_TOKEN')).toBe(f === 'appreg-apply.yml');
    }
  });
});

describe('the GitOps workflows, run against the real service and Terraform', () => {
  let svc: TestService;
  let api: AppregClient;
  let workspace: string;
  let ghDir: string;
  const artifacts: { [file: string]: string } = {};
  const seen: string[] = [];

  /** What the actions do on this machine. */
  const actions: ActionHandler = (action, inputs, ws) => {
    const [name] = action.split('@');
    switch (name) {
      case 'actions/checkout':
        if (inputs.path) {
          // The appreg checkout: this repository, already built by npm test.
          expect(inputs.path).toBe('.appreg');
          expect(inputs.repository).toBe('appreg/appreg');
          if (!fs.existsSync(path.join(ws, '.appreg'))) fs.symlinkSync(REPO_ROOT, path.join(ws, '.appreg'));
        }
        return; // the workspace is the user's repository, checked out
      case 'actions/setup-node':
        expect(inputs['node-version']).toBe('20');
        expect(process.version).toMatch(/^v20\./);
        return;
      case 'hashicorp/setup-terraform':
        return; // terraform is on PATH (requireTerraform); its version is checked above
      case 'actions/upload-artifact':
        for (const p of inputs.path!.split('\n').map((x) => x.trim()).filter(Boolean)) {
          if (!fs.existsSync(p)) throw new Error(`upload-artifact: ${p} does not exist`);
          artifacts[path.basename(p)] = fs.readFileSync(p, 'utf8');
        }
        return;
      default:
        throw new Error(`the test does not know the action ${action}`);
    }
  };

  async function run(file: (typeof FILES)[number], event: { name: string; payload?: { [k: string]: unknown } }): Promise<JobResult> {
    const result = await runWorkflowJob(load(file), {
      workspace,
      event,
      vars: { APPREG_ENDPOINT: svc.url },
      secrets: { APPREG_READ_TOKEN: svc.auditorToken, APPREG_APPLY_TOKEN: svc.adminToken },
      actions,
      skip: { 'install-appreg': 'this checkout is installed and built by npm test' },
      env: { PATH: `${path.join(ghDir, 'bin')}:${process.env.PATH ?? ''}`, GH_RECORD: ghDir },
    });
    seen.push(result.log, result.summary);
    return result;
  }
  const step = (r: JobResult, name: string) => r.steps.find((s) => s.name === name);
  const comments = (): string[] =>
    (JSON.parse(fs.readFileSync(path.join(ghDir, 'comments.json'), 'utf8')) as Array<{ body: string }>).map((c) => c.body);
  /** What the plan comment of the stack says: the marker line, then the plan summary. */
  const planComment = (summary: string): string => `<!-- appreg plan: organization-app -->\n${summary}`;
  const ghCalls = (): string[] => fs.readFileSync(path.join(ghDir, 'calls'), 'utf8').trim().split('\n');

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService();
    api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });

    // The user's infrastructure repository: the workflows, the script, and a cdktf app with a `synth` script.
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-gitops-'));
    fs.cpSync(path.join(GITOPS, '.github'), path.join(workspace, '.github'), { recursive: true });
    fs.cpSync(path.join(GITOPS, 'ci'), path.join(workspace, 'ci'), { recursive: true });
    const pkg = { name: 'infra', version: '1.0.0', private: true, scripts: { synth: `node ${JSON.stringify(path.join(REPO_ROOT, 'dist', 'examples', 'organization-app', 'main.js'))}` } };
    fs.writeFileSync(path.join(workspace, 'package.json'), JSON.stringify(pkg, null, 2));
    fs.writeFileSync(path.join(workspace, 'package-lock.json'), JSON.stringify({ name: 'infra', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'infra', version: '1.0.0' } } }, null, 2));

    // A stand-in for the GitHub CLI, which needs GitHub. It records each call and keeps the pull
    // request's comments in comments.json, answering the three calls the script makes as GitHub
    // would: list the comments (two per page, so that pages must be joined), edit one, add one.
    ghDir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-gh-'));
    fs.mkdirSync(path.join(ghDir, 'bin'));
    fs.writeFileSync(path.join(ghDir, 'comments.json'), '[]');
    fs.writeFileSync(
      path.join(ghDir, 'bin', 'gh'),
      `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const fail = (m, code = 1) => { process.stderr.write('gh: ' + m + '\\n'); process.exit(code); };
if (!process.env.GH_TOKEN) fail('set the GH_TOKEN environment variable', 4);
fs.appendFileSync(path.join(process.env.GH_RECORD, 'calls'), args.join(' ') + '\\n');
const store = path.join(process.env.GH_RECORD, 'comments.json');
const comments = JSON.parse(fs.readFileSync(store, 'utf8'));
const save = () => fs.writeFileSync(store, JSON.stringify(comments, null, 2));
const flag = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const repo = process.env.GITHUB_REPOSITORY;
let m;
if (args[0] === 'pr' && args[1] === 'comment') {
  if (flag('--repo') !== repo) fail('unexpected --repo ' + flag('--repo'));
  comments.push({ id: 1000 + comments.length, pr: Number(args[2]), user: { login: 'github-actions[bot]' }, body: fs.readFileSync(flag('--body-file'), 'utf8') });
  save();
} else if (args[0] === 'api' && (m = /^repos\\/([^/]+\\/[^/]+)\\/issues\\/(\\d+)\\/comments$/.exec(args[1] || ''))) {
  if (m[1] !== repo || !args.includes('--paginate') || !args.includes('--slurp')) fail('unexpected call ' + args.join(' '));
  const all = comments.filter((c) => c.pr === Number(m[2]));
  const pages = [];
  for (let i = 0; i < all.length; i += 2) pages.push(all.slice(i, i + 2));
  process.stdout.write(JSON.stringify(pages.length > 0 ? pages : [[]]));
} else if (args[0] === 'api' && flag('--method') === 'PATCH' && (m = /^repos\\/([^/]+\\/[^/]+)\\/issues\\/comments\\/(\\d+)$/.exec(args[3] || ''))) {
  const c = comments.find((x) => x.id === Number(m[2]));
  if (m[1] !== repo || !c) fail('HTTP 404: Not Found');
  const field = flag('-F') || '';
  if (!field.startsWith('body=@')) fail('unexpected field ' + field);
  c.body = fs.readFileSync(field.slice('body=@'.length), 'utf8');
  save();
  process.stdout.write(JSON.stringify(c));
} else {
  fail('the stand-in does not know: ' + args.join(' '));
}
`,
      { mode: 0o755 },
    );
  });

  afterAll(async () => {
    api?.close();
    await svc?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
    if (ghDir) fs.rmSync(ghDir, { recursive: true, force: true });
  });

  it('a pull request gets its plan in the job summary, a comment and an artifact, and nothing changes', async () => {
    const r = await run('appreg-plan.yml', { name: 'pull_request', payload: { pull_request: { number: 42 } } });
    expect(r.conclusion).toBe('success');
    expect(step(r, 'Build appreg')?.outcome).toBe('skipped');
    expect(r.outputs('plan').changes).toBe('true');
    expect(r.summary).toContain('appreg plan for `organization-app`: 4 to create, 0 to update, 0 to replace, 0 to destroy');
    expect(r.summary).toMatch(/\| `appreg_oauth_client\.portal` \| create \|/);
    expect(r.summary).toContain('appreg_app_consent.consent_billing will be created');
    // The first push finds no plan comment and adds one: the summary under a hidden marker.
    expect(ghCalls()).toEqual([
      'api repos/example/infra/issues/42/comments --paginate --slurp',
      `pr comment 42 --repo example/infra --body-file ${path.join(path.dirname(r.outputs('plan').summary!), 'comment.md')}`,
    ]);
    expect(comments()).toEqual([planComment(r.summary)]);
    expect(Object.keys(artifacts).sort()).toEqual(['plan.md', 'plan.txt']);
    expect(artifacts['plan.txt']).toContain('Plan: 4 to add, 0 to change, 0 to destroy');
    // A plan with the read-only token changed nothing.
    expect(await api.listAllApps()).toEqual([]);
  });

  it('merging to main applies the saved plan', async () => {
    const r = await run('appreg-apply.yml', { name: 'push' });
    expect(r.conclusion).toBe('success');
    expect(step(r, 'Apply the saved plan')?.outcome).toBe('success');
    expect(r.log).toContain('Apply complete! Resources: 4 added, 0 changed, 0 destroyed.');
    expect(r.summary).toContain('appreg apply for `organization-app`: applied');
    expect(r.summary).toMatch(/client_id = "[a-z0-9]+"/);
    const apps = await api.listAllApps();
    expect(apps.map((a) => [a.name, a.scope])).toEqual([['Customer Portal', 'organization']]);
    expect((await api.listAllConsents({})).filter((c) => c.app_id === apps[0]!.id)).toHaveLength(2);
  });

  it('the next pull request plans no changes and updates its own comment, not the newer one of another workflow', async () => {
    // Another workflow commented since, with the same bot token, and a reviewer too.
    const store = path.join(ghDir, 'comments.json');
    const before = JSON.parse(fs.readFileSync(store, 'utf8')) as Array<{ id: number; pr: number; user: { login: string }; body: string }>;
    before.push({ id: 2000, pr: 42, user: { login: 'github-actions[bot]' }, body: 'Coverage: 93%' });
    before.push({ id: 2001, pr: 42, user: { login: 'reviewer' }, body: 'Looks good' });
    fs.writeFileSync(store, JSON.stringify(before));

    const r = await run('appreg-plan.yml', { name: 'pull_request', payload: { pull_request: { number: 42 } } });
    expect(r.conclusion).toBe('success');
    expect(r.outputs('plan').changes).toBe('false');
    expect(r.summary).toContain('appreg plan for `organization-app`: no changes');
    expect(comments()).toEqual([planComment(r.summary), 'Coverage: 93%', 'Looks good']);
    expect(r.log).toMatch(/updated comment 1000 on pull request 42/);
  });

  it('an apply with nothing to change skips the apply step', async () => {
    const r = await run('appreg-apply.yml', { name: 'workflow_dispatch' });
    expect(r.conclusion).toBe('success');
    expect(step(r, 'Apply the saved plan')?.outcome).toBe('skipped');
    expect(r.summary).toContain('no changes');
  });

  it('the nightly drift check passes when nothing was changed by hand', async () => {
    const r = await run('appreg-drift.yml', { name: 'schedule' });
    expect(r.conclusion).toBe('success');
    expect(r.summary).toContain('appreg drift: none');
  });

  it('a callback URL changed by hand fails the nightly check, with the drift in the job summary', async () => {
    const [app] = await api.listAllApps();
    await api.updateApp(app!.id, { callback_urls: ['https://portal.example.com/oauth/callback', 'https://evil.example.com/cb'] });
    const r = await run('appreg-drift.yml', { name: 'schedule' });
    expect(r.conclusion).toBe('failure');
    expect(step(r, 'Check for drift')?.code).toBe(2);
    expect(r.summary).toContain('appreg drift found');
    expect(r.summary).toMatch(/\| `appreg_oauth_client\.portal` \| `callback_urls` \|.*evil\.example\.com/);
    expect(r.log).toContain('::error title=appreg drift::');
  });

  it('the next apply puts it back, saying what it undoes, and the drift check passes again', async () => {
    const apply = await run('appreg-apply.yml', { name: 'workflow_dispatch' });
    expect(apply.conclusion).toBe('success');
    expect(apply.summary).toMatch(/\| `appreg_oauth_client\.portal` \| update in place \| `callback_urls` \|/);
    expect(apply.summary).toContain('Changed outside Terraform since the last apply');
    const [app] = await api.listAllApps();
    expect(app!.callback_urls).not.toContain('https://evil.example.com/cb');
    expect((await run('appreg-drift.yml', { name: 'workflow_dispatch' })).conclusion).toBe('success');
  });

  it('the script runs outside GitHub Actions too, printing its outputs', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-local-'));
    const { GITHUB_ENV: _e, GITHUB_OUTPUT: _o, GITHUB_STEP_SUMMARY: _s, RUNNER_TEMP: _t, TF_CLI_CONFIG_FILE: _c, ...env } = process.env;
    const run = await runProcess('bash', ['-c', 'eval "$(ci/appreg.sh setup)" && ci/appreg.sh plan cdktf.out/stacks/organization-app'], {
      cwd: workspace,
      env: { ...env, TMPDIR: tmp, APPREG_ENDPOINT: svc.url, APPREG_TOKEN: svc.auditorToken },
    });
    const r = { code: run.code, out: run.stdout + run.stderr };
    seen.push(r.out);
    try {
      expect(r.code).toBe(0);
      expect(r.out).toContain('No changes. Your infrastructure matches the configuration.');
      expect(r.out).toContain('changes=false');
      expect(r.out).toContain(`summary=${path.join(tmp, 'appreg', 'plan.md')}`);
      expect(fs.readFileSync(path.join(tmp, 'appreg', 'plan.md'), 'utf8')).toContain('no changes');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('no token and no client secret appears in any log, summary, comment or artifact', () => {
    const state = JSON.parse(fs.readFileSync(path.join(workspace, 'terraform.organization-app.tfstate'), 'utf8')) as {
      resources: Array<{ type: string; instances: Array<{ attributes: { client_secret?: string } }> }>;
    };
    const secret = state.resources.find((r) => r.type === 'appreg_oauth_client')!.instances[0]!.attributes.client_secret;
    expect(secret).toMatch(/.{20,}/);
    const everything = [...seen, ...comments(), ...Object.values(artifacts)].join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const s of [secret!, svc.adminToken, svc.auditorToken]) expect(everything).not.toContain(s);
  });
});
