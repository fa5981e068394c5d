import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AppConsent } from '../../provider/app-consent';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { DataAppregOauthClient } from '../../provider/data-appreg-oauth-client';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';
import { TenantOauthSetting } from '../../provider/tenant-oauth-setting';
import { checkGenerated, compareBindings, describeProblems } from '../../scripts/check-generated';
import {
  bindingsDir,
  findRepoRoot,
  GENERATED_BANNER,
  readBindings,
  renderBindings,
  writeBindings,
} from '../../scripts/generate';
import { terraformSchemaDocument, type ProviderSpec } from '../../src/schema';

const root = findRepoRoot(__dirname);

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

describe('cdktf bindings generated from src/schema', () => {
  test('provider/ is exactly what npm run generate writes', async () => {
    const problems = await checkGenerated(root);
    if (problems.length > 0) throw new Error(describeProblems(problems));
  });

  test('generation is deterministic: two runs give the same bytes and name nothing of the machine', async () => {
    const first = await renderBindings();
    const second = await renderBindings();
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

  test('every generated file says it is generated and must not be edited', () => {
    const files = readBindings(bindingsDir(root));
    expect(files.size).toBeGreaterThan(0);
    for (const [rel, content] of files) {
      if (rel === '.gitattributes') continue;
      expect({ file: rel, firstLine: content.split('\n')[0] }).toEqual({ file: rel, firstLine: expect.stringContaining(GENERATED_BANNER) });
    }
  });

  test('cdktf.json points cdktf at the same folder and fetches no providers', () => {
    const config = JSON.parse(fs.readFileSync(path.join(root, 'cdktf.json'), 'utf8'));
    expect(config).toMatchObject({ language: 'typescript', codeMakerOutput: 'provider', terraformProviders: [] });
    expect(config.app).toMatch(/dist\/examples\/organization-app\/main\.js/);
    expect(bindingsDir(root)).toBe(path.join(root, 'provider'));
  });

  test('a small schema: one folder per type, camel-cased properties, sensitive and computed attributes as getters', async () => {
    const files = await renderBindings(terraformSchemaDocument(fixture), 'appreg/appreg', '1.2.3');
    expect([...files.keys()]).toMatchSnapshot('files');
    expect(files.get('index.ts')).toMatchSnapshot('index.ts');
    expect(files.get('widget/index.ts')).toMatchSnapshot('widget/index.ts');
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
