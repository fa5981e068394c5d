/**
 * Upgrade test: state written by an earlier release must plan with no
 * changes under the provider of this checkout, and a refresh must not change
 * any attribute that release wrote. One fixture per release lives in
 * test/fixtures/upgrade/<version>/ (see the README there): the configuration,
 * the `terraform.tfstate` that release wrote, and the SQLite database the
 * registration service had at that moment, because the state refers to the
 * service's object ids. The service of this checkout runs on a copy of that
 * database, so a service-side schema migration is exercised too.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { PassThrough } from 'node:stream';
import { startService } from '../../src/server';
import { REPO_ROOT, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(180_000);

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'upgrade');
const releases = fs
  .readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** The part of a `terraform.tfstate` (format 4) compared here. */
interface StateFile {
  version: number;
  resources: Array<{ mode: string; type: string; name: string; instances: Array<{ schema_version: number; attributes: { [k: string]: unknown } }> }>;
}

const readStateFile = (file: string): StateFile => JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;

/**
 * Every attribute the old release wrote must still have its value: a later
 * release may add attributes (with a state upgrader), never change or drop
 * the old ones. Returns the differences, one line each.
 */
function changedAttributes(before: StateFile, after: StateFile): string[] {
  const out: string[] = [];
  for (const r of before.resources) {
    const address = `${r.mode === 'data' ? 'data.' : ''}${r.type}.${r.name}`;
    const now = after.resources.find((x) => x.mode === r.mode && x.type === r.type && x.name === r.name);
    if (!now) {
      out.push(`${address} is gone`);
      continue;
    }
    r.instances.forEach((inst, i) => {
      const attrs = now.instances[i]?.attributes ?? {};
      for (const [k, v] of Object.entries(inst.attributes)) {
        if (!isDeepStrictEqual(attrs[k], v)) out.push(`${address}.${k}: ${JSON.stringify(v)} -> ${JSON.stringify(attrs[k])}`);
      }
    });
  }
  return out;
}

beforeAll(() => {
  requireTerraform();
  requireBuiltProvider();
});

test('there is an upgrade fixture of at least one release', () => {
  expect(releases.length).toBeGreaterThan(0);
});

describe.each(releases)('state written by release %s', (release) => {
  const dir = path.join(FIXTURES, release);

  test('plans no changes with this provider, and a refresh changes no attribute it wrote', async () => {
    const fixture = JSON.parse(fs.readFileSync(path.join(dir, 'fixture.json'), 'utf8')) as { token: string };
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `appreg-upgrade-${release}-`));
    // A copy: the service migrates and writes its database, and the committed fixture must stay as the release left it.
    const db = path.join(tmp, 'appreg.db');
    fs.copyFileSync(path.join(dir, 'appreg.db'), db);
    const service = await startService({ db, host: '127.0.0.1', port: 0, log: new PassThrough().resume() });
    const ws = new TerraformWorkspace({ endpoint: service.url, token: fixture.token });
    try {
      fs.copyFileSync(path.join(dir, 'main.tf'), path.join(ws.dir, 'main.tf'));
      fs.copyFileSync(path.join(dir, 'terraform.tfstate'), path.join(ws.dir, 'terraform.tfstate'));
      const before = readStateFile(path.join(dir, 'terraform.tfstate'));

      const plan = await ws.plan();
      if (plan.code !== 0) throw new Error(`release ${release}: terraform plan -detailed-exitcode exited ${plan.code}, expected 0 (no changes):\n${plan.stdout}${plan.stderr}`);
      expect(plan.stdout).toContain('No changes');
      // Exit code 0 even when a refresh finds differences in computed attributes; those must not happen either.
      expect(plan.stdout).not.toMatch(/changed outside of Terraform/);

      await ws.apply(['-refresh-only']);
      const after = readStateFile(path.join(ws.dir, 'terraform.tfstate'));
      expect(changedAttributes(before, after)).toEqual([]);
      expect(after.resources.map((r) => `${r.mode}.${r.type}.${r.name}`).sort()).toEqual(before.resources.map((r) => `${r.mode}.${r.type}.${r.name}`).sort());
    } finally {
      ws.dispose();
      await service.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
