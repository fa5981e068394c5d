import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AppConsent } from '../../provider/app-consent';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { DataAppregOauthClient } from '../../provider/data-appreg-oauth-client';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';
import { TenantOauthSetting } from '../../provider/tenant-oauth-setting';
import * as cdktfRoot from '../../provider';
import * as cdktnRoot from '../../provider-cdktn';
import { checkGenerated, compareBindings, describeProblems } from '../../scripts/check-generated';
import {
  bindingsDir,
  findRepoRoot,
  FLAVOUR_SPECS,
  FLAVOURS,
  GENERATED_BANNER,
  readBindings,
  renderBindings,
  writeBindings,
} from '../../scripts/generate';
import { terraformSchemaDocument } from '../../src/framework/export';
import type { ProviderSpec } from '../../src/schema';
import { VERSION } from '../../src/version';

const root = findRepoRoot(__dirname);

/** The class names DOMAIN.md gives, with their Terraform types. */
const CLASSES = {
  AppregProvider: 'appreg',
  OauthClient: 'appreg_oauth_client',
  AppConsent: 'appreg_app_consent',
  TenantOauthSetting: 'appreg_tenant_oauth_setting',
  DataAppregGroup: 'appreg_group',
  DataAppregOauthClient: 'appreg_oauth_client',
} as const;

/** A small provider with one attribute of every kind the generator maps differently. */
const fixture: ProviderSpec = {
  provider: {
    typeName: 'appreg',
    version: 0,
    description: 'Fixture provider.',
    attributes: { token: { type: 'string', optional: true, sensitive: true, description: 'A token.' } },
  },
  resources: [
    {
      typeName: 'appreg_widget',
      version: 0,
      description: 'A widget.',
      attributes: {
        id: { type: 'string', computed: true, description: 'Id.' },
        name: { type: 'string', required: true, description: 'Name; a `*/` in a description must not end the doc comment.' },
        size: { type: 'number', optional: true, description: 'Size.' },
        enabled: { type: 'bool', optional: true, computed: true, description: 'Enabled.' },
        tags: { type: ['set', 'string'], optional: true, description: 'Tags.' },
        labels: { type: ['map', 'string'], optional: true, description: 'Labels.' },
        secret: { type: 'string', computed: true, sensitive: true, description: 'Secret.' },
      },
    },
  ],
  dataSources: [
    {
      typeName: 'appreg_widget_lookup',
      version: 0,
      description: 'Finds a widget.',
      attributes: { name: { type: 'string', required: true, description: 'Name.' }, id: { type: 'string', computed: true, description: 'Id.' } },
    },
  ],
};

async function withTempDir<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-generate-test-'));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('cdktf and cdktn bindings generated from src/schema', () => {
  test('provider/ and provider-cdktn/ are exactly what npm run generate writes, package.json included', async () => {
    const problems = await checkGenerated(root);
    if (problems.length > 0) throw new Error(describeProblems(problems));
  });

  test.each(FLAVOURS)('%s: generation is deterministic: two runs give the same bytes and name nothing of the machine', async (flavour) => {
    const first = await renderBindings(undefined, undefined, undefined, flavour);
    const second = await renderBindings(undefined, undefined, undefined, flavour);
    expect([...second]).toEqual([...first]);
    // Absolute paths that could leak in: the checkout, the generator's staging dir, the home directory.
    const machine = [root, path.join(os.tmpdir(), 'appreg-generate-'), os.homedir()].filter((s) => s.length > 5);
    for (const [rel, content] of first) {
      for (const s of machine) expect({ file: rel, contains: content.includes(s) ? s : null }).toEqual({ file: rel, contains: null });
      // No timestamps (an ISO date-time) and no version of the local toolchain.
      expect({ file: rel, timestamp: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(content) }).toEqual({ file: rel, timestamp: false });
      expect({ file: rel, node: content.includes(process.version) }).toEqual({ file: rel, node: false });
    }
  });

  test('the classes DOMAIN.md names, each bound to its Terraform type', () => {
    expect(AppregProvider.tfResourceType).toBe('appreg');
    expect(OauthClient.tfResourceType).toBe('appreg_oauth_client');
    expect(AppConsent.tfResourceType).toBe('appreg_app_consent');
    expect(TenantOauthSetting.tfResourceType).toBe('appreg_tenant_oauth_setting');
    expect(DataAppregGroup.tfResourceType).toBe('appreg_group');
    expect(DataAppregOauthClient.tfResourceType).toBe('appreg_oauth_client');
  });

  test('both packages export the same classes from their root, each bound to its Terraform type', () => {
    for (const [flavour, exports] of [['cdktf', cdktfRoot], ['cdktn', cdktnRoot]] as const) {
      const types = Object.fromEntries(Object.keys(CLASSES).map((name) => [name, (exports as unknown as Record<string, { tfResourceType?: string }>)[name]?.tfResourceType]));
      expect({ flavour, types }).toEqual({ flavour, types: CLASSES });
    }
    // The cdktf root exports the very classes of the folders the examples import.
    expect(cdktfRoot.OauthClient).toBe(OauthClient);
    // The namespaces of the generator's own index stay, for code written against them.
    expect(cdktfRoot.oauthClient.OauthClient).toBe(OauthClient);
    expect(cdktnRoot.oauthClient.OauthClient).toBe(cdktnRoot.OauthClient);
  });

  test('the cdktn bindings build on cdktn and the cdktf bindings on cdktf, never the other', () => {
    for (const flavour of FLAVOURS) {
      const other = flavour === 'cdktf' ? 'cdktn' : 'cdktf';
      for (const [rel, content] of readBindings(bindingsDir(root, flavour))) {
        if (!rel.endsWith('.ts')) continue;
        expect({ flavour, file: rel, other: content.includes(`from '${other}'`) }).toEqual({ flavour, file: rel, other: false });
      }
    }
    expect(readBindings(bindingsDir(root, 'cdktn')).get('oauth-client/index.ts')).toContain("import * as cdktn from 'cdktn';");
  });

  test('every generated file but package.json says it is generated and must not be edited', () => {
    for (const flavour of FLAVOURS) {
      const files = readBindings(bindingsDir(root, flavour));
      expect(files.size).toBeGreaterThan(0);
      for (const [rel, content] of files) {
        if (rel === '.gitattributes' || rel === 'package.json') continue;
        expect({ flavour, file: rel, firstLine: content.split('\n')[0] }).toEqual({ flavour, file: rel, firstLine: expect.stringContaining(GENERATED_BANNER) });
      }
    }
  });

  test.each(FLAVOURS)('%s: the generated package.json names the package, the version of this checkout and the peer ranges', (flavour) => {
    const pkg = JSON.parse(readBindings(bindingsDir(root, flavour)).get('package.json')!);
    const rootPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg).toEqual({
      name: `@appreg/provider-${flavour}`,
      version: rootPkg.version,
      description: expect.stringContaining(`appreg/appreg ${rootPkg.version}`),
      license: 'MPL-2.0',
      main: 'index.js',
      types: 'index.d.ts',
      files: ['**/*.js', '**/*.d.ts', '**/README.md'],
      peerDependencies:
        flavour === 'cdktf' ? { cdktf: '^0.21.0', constructs: '^10.4.2' } : { cdktn: '^0.24.0', constructs: '>=10.6.0 <10.8.0' },
      engines: { node: '>=20' },
    });
    expect(pkg.version).toBe(VERSION);
    expect(pkg.name).toBe(FLAVOUR_SPECS[flavour].packageName);
    // The version the package carries is the one its bindings pin in required_providers.
    const providerTs = readBindings(bindingsDir(root, flavour)).get('provider/index.ts')!;
    expect(providerTs).toContain(`providerVersion: '${pkg.version}',`);
  });

  test.each(FLAVOURS)('%s: the README says how to install the tarball and import by package name', (flavour) => {
    const readme = readBindings(bindingsDir(root, flavour)).get('README.md')!;
    expect(readme).toContain(`npm install ./appreg-provider-${flavour}-${VERSION}.tgz`);
    expect(readme).toContain(`from '@appreg/provider-${flavour}'`);
    for (const name of Object.keys(CLASSES)) expect(readme).toContain(`\`${name}\``);
  });

  test('cdktf.json points cdktf at the same folder and fetches no providers', () => {
    const config = JSON.parse(fs.readFileSync(path.join(root, 'cdktf.json'), 'utf8'));
    expect(config).toMatchObject({ language: 'typescript', codeMakerOutput: 'provider', terraformProviders: [] });
    expect(config.app).toMatch(/dist\/examples\/organization-app\/main\.js/);
    expect(bindingsDir(root)).toBe(path.join(root, 'provider'));
    expect(bindingsDir(root, 'cdktn')).toBe(path.join(root, 'provider-cdktn'));
  });

  test('a small schema: one folder per type, camel-cased properties, sensitive and computed attributes as getters', async () => {
    const files = await renderBindings(terraformSchemaDocument(fixture), 'appreg/appreg', '1.2.3');
    expect([...files.keys()]).toMatchSnapshot('files');
    expect(files.get('index.ts')).toMatchSnapshot('index.ts');
    expect(files.get('widget/index.ts')).toMatchSnapshot('widget/index.ts');
    expect(files.get('package.json')).toMatchSnapshot('package.json');
  });

  test('the small schema for cdktn: the same files and classes, on cdktn', async () => {
    const cdktf = await renderBindings(terraformSchemaDocument(fixture), 'appreg/appreg', '1.2.3', 'cdktf');
    const cdktn = await renderBindings(terraformSchemaDocument(fixture), 'appreg/appreg', '1.2.3', 'cdktn');
    expect([...cdktn.keys()]).toEqual([...cdktf.keys()]);
    expect(cdktn.get('widget/index.ts')).toContain('export class Widget extends cdktn.TerraformResource {');
    expect(cdktn.get('index.ts')).toContain("export * from './widget/index';");
    expect(JSON.parse(cdktn.get('package.json')!)).toMatchObject({ name: '@appreg/provider-cdktn', version: '1.2.3' });
  });
});

describe('the check', () => {
  const generated = new Map([
    ['index.ts', '// gen\nexport * from "./a";\n'],
    ['a/index.ts', '// gen\nexport class A {}\n'],
  ]);

  test('up to date: no difference; CRLF line endings of a Windows checkout are not one', () => {
    expect(compareBindings(generated, new Map(generated), 'provider')).toEqual([]);
    const crlf = new Map([...generated].map(([k, v]) => [k, v.replace(/\n/g, '\r\n')]));
    expect(compareBindings(generated, crlf, 'provider')).toEqual([]);
  });

  test('a hand edit, a missing file and a stray file are each named, with the fix', () => {
    const onDisk = new Map([
      ['index.ts', '// gen\nexport * from "./b";\n'],
      ['stray.ts', 'x'],
    ]);
    const problems = compareBindings(generated, onDisk, 'provider');
    expect(problems).toEqual([
      expect.stringMatching(/^changed  provider\/index\.ts: first difference at line 2:/),
      'missing  provider/a/index.ts',
      'extra    provider/stray.ts (not produced by the generator)',
    ]);
    expect(describeProblems(problems)).toMatch(/3 differences[\s\S]*run npm run generate and commit/);
  });

  test('a stale provider-cdktn/, a stale package.json and a missing one each fail the check of a checkout', () =>
    withTempDir(async (dir) => {
      // A checkout with both folders freshly generated: up to date.
      fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ codeMakerOutput: 'provider' }));
      for (const flavour of FLAVOURS) writeBindings(bindingsDir(dir, flavour), await renderBindings(undefined, undefined, undefined, flavour));
      expect(await checkGenerated(dir)).toEqual([]);

      // A hand edit in the cdktn bindings, a version bumped by hand in the cdktf package.json,
      // and the cdktn package.json deleted.
      const cdktnClient = path.join(dir, 'provider-cdktn', 'oauth-client', 'index.ts');
      fs.writeFileSync(cdktnClient, fs.readFileSync(cdktnClient, 'utf8').replace('export class OauthClient', 'export class OauthClient2'));
      const cdktfPkg = path.join(dir, 'provider', 'package.json');
      fs.writeFileSync(cdktfPkg, fs.readFileSync(cdktfPkg, 'utf8').replace(`"version": "${VERSION}"`, '"version": "9.9.9"'));
      fs.rmSync(path.join(dir, 'provider-cdktn', 'package.json'));
      const problems = await checkGenerated(dir);
      expect(problems).toEqual([
        expect.stringMatching(/^changed  provider\/package\.json: first difference at line 3:\n.*generated: .*0\.1\.0.*\n.*committed: .*9\.9\.9/),
        expect.stringMatching(/^changed  provider-cdktn\/oauth-client\/index\.ts: first difference at line \d+:/),
        'missing  provider-cdktn/package.json',
      ]);
      expect(describeProblems(problems)).toMatch(/cdktf and cdktn[\s\S]*3 differences[\s\S]*run npm run generate and commit/);

      // A whole folder missing is named file by file too.
      fs.rmSync(path.join(dir, 'provider-cdktn'), { recursive: true });
      expect(await checkGenerated(dir)).toEqual(expect.arrayContaining(['missing  provider-cdktn/index.ts', 'missing  provider-cdktn/README.md']));
    }));

  test('writing replaces the folder, so a type removed from the schema leaves no binding behind', () =>
    withTempDir((dir) => {
      const out = path.join(dir, 'provider');
      fs.mkdirSync(path.join(out, 'removed-resource'), { recursive: true });
      fs.writeFileSync(path.join(out, 'removed-resource', 'index.ts'), 'old');
      writeBindings(out, generated);
      expect(readBindings(out)).toEqual(generated);
    }));

  test('codeMakerOutput must name a folder inside the repository', () =>
    withTempDir((dir) => {
      for (const bad of ['../elsewhere', '/abs', '']) {
        fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ codeMakerOutput: bad }));
        expect(() => bindingsDir(dir)).toThrow(/codeMakerOutput must be a folder inside the repository/);
      }
    }));
});
