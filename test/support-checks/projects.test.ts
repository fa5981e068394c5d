/**
 * The split of the tests into jest projects (jest.config.js) cannot drift:
 * every test file is in exactly one project, as jest itself lists them, and no
 * file of the unit project uses PostgreSQL, Terraform or what `tsc` builds
 * (dist/, bin/). A new test file is unit unless jest.config.js's ACCEPTANCE
 * names it, so one that needs the real parts fails here, saying what to add.
 *
 * The check reads sources (no jest API): a unit file may not import, directly
 * or through the test helpers it imports, the support modules of the real
 * parts, nor name them in its own code.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Helpers whose use means PostgreSQL, Terraform, Chromium, a child process, bin/ or dist/ (paths relative to the root, without .ts). */
const FORBIDDEN_MODULES: Record<string, string> = {
  'test/support/postgres': 'PostgreSQL',
  'test/server/harness': 'PostgreSQL (BACKENDS, startWorld)',
  'test/support/terraform': 'Terraform and the built provider',
  'test/support/appreg-cli': 'bin/appreg (built by tsc)',
  // Headless Chromium, an external program, as Terraform is.
  'test/support/browser': 'Chromium (headless, an external program)',
  // `appreg serve` as a child process, and clients that drive one: both run bin/appreg.
  'test/support/serve-process': 'bin/appreg serve as a child process',
  'test/support/oidc-client': 'a child process (an OpenID Connect client against bin/appreg serve)',
  'test/support/console': 'a running appreg serve (the console over HTTP)',
  'test/fixtures/toy': 'the toy provider built into dist/',
  'scripts/trials/common': 'Terraform and PostgreSQL (the trials)',
  'scripts/trials/index': 'Terraform and PostgreSQL (the trials)',
};
/** Packages whose use means a real part. */
const FORBIDDEN_PACKAGES: Record<string, string> = { pg: 'PostgreSQL' };
/** Code of the test file itself that means a real part. */
const FORBIDDEN_CODE: Array<[RegExp, string]> = [
  [/\b(createTestDatabase|startCluster|BACKENDS|APPREG_TEST_PG_\w+)\b/, 'PostgreSQL'],
  [/\b(TerraformWorkspace|requireTerraform|requireBuiltProvider|requireBuiltToy)\b/, 'Terraform or the built provider'],
  [/\b(spawn|spawnSync|exec|execSync|execFile|execFileSync|runProcess)\(\s*['"`]terraform['"`]/, 'the terraform command'],
  [/['"`]bin['"`]\s*,\s*['"`](appreg|terraform-provider-appreg)['"`]|['"`/]bin\/(appreg|terraform-provider-appreg)['"`]/, 'an executable of bin/ (runs dist/)'],
  [/['"`]dist['"`]\s*,|['"`](\.\.\/|<rootDir>\/)*dist\/(src|test|scripts|examples)\//, 'a file of dist/ (built by tsc)'],
];
/** Folders whose modules are product code, not test helpers: their own imports (src/server of pg, say) are not followed. */
const NOT_FOLLOWED = ['src/', 'provider/', 'provider-cdktn/', 'node_modules/'];

/** Import specifiers of a source: static, dynamic and require, type-only ones included. */
function specifiers(source: string): string[] {
  const out: string[] = [];
  const re = /\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3] ?? m[4])!);
  return out;
}

/** The .ts file a relative specifier names, if any. */
function resolveLocal(from: string, spec: string, exists: (p: string) => boolean): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  return [base, `${base}.ts`, path.join(base, 'index.ts')].find((p) => p.endsWith('.ts') && exists(p));
}

/** Why a test file may not be a unit test (empty when it may), following its local imports. */
export function realParts(file: string, read: (p: string) => string, exists: (p: string) => boolean): string[] {
  const reasons = new Set<string>();
  const own = read(file);
  for (const [re, what] of FORBIDDEN_CODE) {
    const m = own.match(re);
    if (m) reasons.add(`uses ${what} ('${m[0]}')`);
  }
  const seen = new Set<string>([file]);
  const queue: Array<{ file: string; via: string[] }> = [{ file, via: [] }];
  while (queue.length > 0) {
    const cur = queue.shift()!;
    for (const spec of specifiers(cur.file === file ? own : read(cur.file))) {
      const chain = [...cur.via, cur.file].slice(1).map((p) => ` via ${path.relative(ROOT, p)}`).join('');
      if (!spec.startsWith('.')) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (FORBIDDEN_PACKAGES[pkg]) reasons.add(`imports '${pkg}': ${FORBIDDEN_PACKAGES[pkg]}${chain}`);
        continue;
      }
      const target = resolveLocal(cur.file, spec, exists);
      if (!target || seen.has(target)) continue;
      seen.add(target);
      const rel = path.relative(ROOT, target).split(path.sep).join('/');
      const forbidden = FORBIDDEN_MODULES[rel.replace(/\.ts$/, '').replace(/\/index$/, '')];
      if (forbidden) {
        reasons.add(`imports ${rel}: ${forbidden}${chain}`);
        continue;
      }
      if (!NOT_FOLLOWED.some((d) => rel.startsWith(d))) queue.push({ file: target, via: [...cur.via, cur.file] });
    }
  }
  return [...reasons];
}

/** The test files jest runs in a project, relative to the root. */
function listTests(project: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--listTests', '--json', '--selectProjects', project],
      { cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`jest --listTests --selectProjects ${project} failed: ${err.message}\n${stderr}`));
        const json = stdout.slice(stdout.indexOf('['));
        resolve((JSON.parse(json) as string[]).map((p) => path.relative(ROOT, p).split(path.sep).join('/')).sort());
      },
    );
  });
}

/** Every *.test.ts of test/ and examples/, as jest.config.js's testMatch means to find them. */
function testFilesOnDisk(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (['node_modules', 'dist', 'cdktf.out'].includes(e.name)) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.ts')) out.push(path.relative(ROOT, p).split(path.sep).join('/'));
    }
  };
  for (const top of ['test', 'examples']) walk(path.join(ROOT, top));
  return out.sort();
}

describe('jest projects (jest.config.js)', () => {
  let unit: string[];
  let acceptance: string[];
  beforeAll(async () => {
    [unit, acceptance] = await Promise.all([listTests('unit'), listTests('acceptance')]);
  });

  test('every test file is in exactly one project, unit or acceptance', () => {
    expect(unit.filter((f) => acceptance.includes(f))).toEqual([]);
    expect(testFilesOnDisk().filter((f) => !unit.includes(f) && !acceptance.includes(f))).toEqual([]);
    expect(unit).toContain('test/support-checks/projects.test.ts');
    expect(acceptance).toContain('test/support/postgres.test.ts');
  });

  test('no unit test uses PostgreSQL, Terraform, bin/ or dist/', () => {
    const read = (p: string): string => fs.readFileSync(p, 'utf8');
    const offenders = unit
      .filter((f) => f !== 'test/support-checks/projects.test.ts') // names the real parts to look for them
      .map((f) => ({ f, reasons: realParts(path.join(ROOT, f), read, fs.existsSync) }))
      .filter((o) => o.reasons.length > 0)
      .map((o) => `${o.f}:\n    ${o.reasons.join('\n    ')}`);
    if (offenders.length > 0) {
      throw new Error(
        `${offenders.length} test file(s) of the unit project use real parts; add them to ACCEPTANCE in jest.config.js ` +
          `(or take the real parts out):\n  ${offenders.join('\n  ')}`,
      );
    }
  });

  describe('the check itself', () => {
    const files: Record<string, string> = {
      [path.join(ROOT, 'test/x/a.test.ts')]: "import { startWorld } from '../server/harness';\n",
      [path.join(ROOT, 'test/x/b.test.ts')]: "import { helper } from './helper';\n",
      [path.join(ROOT, 'test/x/helper.ts')]: "export { createTestDatabase as helper } from '../support/postgres';\n",
      [path.join(ROOT, 'test/x/c.test.ts')]: "import { Client } from 'pg';\nimport type { X } from '../../src/server';\n",
      [path.join(ROOT, 'test/x/d.test.ts')]: "const r = spawnSync('terraform', ['version']);\n",
      [path.join(ROOT, 'test/x/e.test.ts')]: "const bin = path.join(ROOT, 'bin', 'appreg');\nconst js = path.join(ROOT, 'dist', 'src');\n",
      [path.join(ROOT, 'test/x/f.test.ts')]: "const js = path.resolve(__dirname, '../../dist/test/fixtures/toy-provider.js');\n",
      [path.join(ROOT, 'test/x/g.test.ts')]: "import { openSession } from '../support/browser';\n",
      [path.join(ROOT, 'test/x/h.test.ts')]: "import { startServeProcess } from '../support/serve-process';\nimport { runOidc } from '../support/oidc-client';\nimport { signIn } from '../support/console';\n",
      [path.join(ROOT, 'test/x/pure.test.ts')]:
        "import { encode } from '../../src/tfplugin/codec';\nimport fc from 'fast-check';\n// terraform, bin/appreg and dist/ in a comment are fine\nexpect(text).toMatch(/dist\\/examples\\/main\\.js/);\n" +
        "throw new Error('stale: run `npx tsc -p tsconfig.json && node dist/src/tfplugin/gen-descriptor.js`');\n",
    };
    files[path.join(ROOT, 'test/support/postgres.ts')] = "import { Client } from 'pg';\n";
    for (const helper of ['browser', 'serve-process', 'oidc-client', 'console']) files[path.join(ROOT, `test/support/${helper}.ts`)] = 'export const x = 1;\n';
    files[path.join(ROOT, 'test/server/harness.ts')] = "import { createTestDatabase } from '../support/postgres';\n";
    files[path.join(ROOT, 'src/server/index.ts')] = "import { Pool } from 'pg';\n";
    files[path.join(ROOT, 'src/tfplugin/codec.ts')] = 'export const encode = 1;\n';
    const read = (p: string): string => files[p] ?? '';
    const exists = (p: string): boolean => p in files;
    const check = (rel: string): string => realParts(path.join(ROOT, rel), read, exists).join('; ');

    test('finds a forbidden helper, directly or through another helper', () => {
      expect(check('test/x/a.test.ts')).toMatch(/imports test\/server\/harness\.ts: PostgreSQL/);
      expect(check('test/x/b.test.ts')).toMatch(/imports test\/support\/postgres\.ts: PostgreSQL via test\/x\/helper\.ts/);
    });

    test("finds the pg package, but not in product code's own imports", () => {
      expect(check('test/x/c.test.ts')).toBe("imports 'pg': PostgreSQL");
    });

    test('finds terraform, bin/ and dist/ in the code of the test file', () => {
      expect(check('test/x/d.test.ts')).toMatch(/the terraform command/);
      expect(check('test/x/e.test.ts')).toMatch(/an executable of bin\/[\s\S]*a file of dist\//);
      expect(check('test/x/f.test.ts')).toMatch(/a file of dist\//);
    });

    test('finds Chromium and the child-process service helpers, so a browser or serve test misplaced in unit fails', () => {
      expect(check('test/x/g.test.ts')).toMatch(/imports test\/support\/browser\.ts: Chromium/);
      const h = check('test/x/h.test.ts');
      for (const helper of ['serve-process', 'oidc-client', 'console']) expect(h).toContain(`imports test/support/${helper}.ts:`);
    });

    test('passes pure code', () => {
      expect(check('test/x/pure.test.ts')).toBe('');
    });
  });
});
