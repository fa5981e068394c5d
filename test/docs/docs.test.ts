/**
 * The reference docs in `docs/` are generated from src/schema and the HCL
 * examples (scripts/docs.ts). These tests check the committed pages against
 * the schema itself, not against the generator's own helpers, so a generator
 * that drops, misfiles or mislabels an attribute fails here.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkDocs, DOCS_FIX_HINT, describeDocsProblems } from '../../scripts/check-docs';
import {
  API_OPERATIONS,
  DOCS_BANNER,
  docPath,
  DOCS_KEPT_DIRS,
  exampleDir,
  exampleFiles as typeExamples,
  FORCE_NEW_SENTENCE,
  frontMatter,
  generateDocs,
  loadOpenApi,
  type ApiSource,
  type OpenApiDocument,
  importBlocks,
  parseImportScript,
  readDocs,
  renderHclValue,
  renderType,
  writeDocs,
  type DocKind,
} from '../../scripts/docs';
import { findRepoRoot } from '../../scripts/generate';
import { appregProvider, type ProviderSpec, type TypeSpec } from '../../src/schema';

const root = findRepoRoot(__dirname);
const committed = readDocs(root);

jest.setTimeout(60_000);

/** The OpenAPI document of a real service, read once for the whole file (starting a service takes a moment). */
let api: ApiSource;
beforeAll(async () => {
  api = { document: await loadOpenApi(), operations: API_OPERATIONS };
});

/** The smallest API source the generator accepts, for fixture providers. */
const tinyApi: ApiSource = {
  document: { openapi: '3.1.0', info: { title: 't', version: '1' }, paths: { '/healthz': { get: { summary: 'Health', responses: { 200: { description: 'ok' } } } } } } as OpenApiDocument,
  operations: { 'GET /healthz': { access: 'public', example: { status: 200 } } },
};

/** The lines of a page after its front matter. */
function body(page: string): string[] {
  const lines = page.split('\n');
  const end = lines.indexOf('---', 1);
  return lines.slice(end + 2);
}

/** One `- \`name\` (Type) text` line of a Schema section, with the heading it is listed under. */
interface ListedAttribute {
  category: string;
  annotations: string[];
  line: string;
}

/** Reads the Schema section of a page back: attribute name to where and how it is listed. */
function listedAttributes(page: string): Map<string, ListedAttribute> {
  const out = new Map<string, ListedAttribute>();
  let inSchema = false;
  let category = '';
  for (const line of page.split('\n')) {
    if (line.startsWith('## ')) inSchema = line === '## Schema';
    else if (inSchema && line.startsWith('### ')) category = line.slice(4);
    else if (inSchema && line.startsWith('- ')) {
      const m = line.match(/^- `([^`]+)` \(([^)]*)\)/);
      if (!m) throw new Error(`Unparsable schema line: ${line}`);
      if (out.has(m[1]!)) throw new Error(`${m[1]} is listed twice`);
      out.set(m[1]!, { category, annotations: m[2]!.split(', '), line });
    }
  }
  return out;
}

/** Every page with the type it documents, from the schema (the provider's own configuration on index.md). */
const pages: Array<{ page: string; spec: TypeSpec; kind: DocKind | 'provider' }> = [
  { page: 'index.md', spec: appregProvider.provider, kind: 'provider' },
  ...appregProvider.resources.map((spec) => ({ page: docPath('resource', spec.typeName), spec, kind: 'resource' as const })),
  ...appregProvider.dataSources.map((spec) => ({ page: docPath('data source', spec.typeName), spec, kind: 'data source' as const })),
];

function pageText(rel: string): string {
  const text = committed.get(rel);
  if (text === undefined) throw new Error(`docs/${rel} is missing: run npm run docs`);
  return text;
}

/** All example files that feed the docs, relative to the repository root. */
function exampleFiles(): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const dir = path.join(root, rel);
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${rel}/${e.name}`);
      else out.push(`${rel}/${e.name}`);
    }
  };
  for (const top of ['examples/provider', 'examples/resources', 'examples/data-sources']) walk(top);
  return out.sort();
}

describe('docs/ generated from src/schema and examples/', () => {
  test('docs/ is exactly what npm run docs writes', async () => {
    const problems = await checkDocs(root, api);
    if (problems.length > 0) throw new Error(describeDocsProblems(problems));
  });

  test('one page per resource and data source, plus index.md, and nothing else', () => {
    expect([...committed.keys()].sort()).toEqual(
      [
        'api.md',
        'index.md',
        'resources/app_consent.md',
        'resources/oauth_client.md',
        'resources/tenant_oauth_setting.md',
        'data-sources/group.md',
        'data-sources/oauth_client.md',
      ].sort(),
    );
  });

  test.each(pages)('$page: registry front matter, title and the description from the schema', ({ page, spec, kind }) => {
    const text = pageText(page);
    const pageTitle = kind === 'provider' ? 'appreg Provider' : `${spec.typeName} ${kind === 'resource' ? 'Resource' : 'Data Source'} - appreg`;
    // Spelled out here, as the registry reads it, rather than taken from the generator.
    expect(text.startsWith(`---\npage_title: "${pageTitle}"\nsubcategory: ""\ndescription: |-\n  ${spec.description}\n---\n\n`)).toBe(true);
    const lines = body(text);
    expect(lines[0]).toBe(`<!-- ${DOCS_BANNER} -->`);
    const title = kind === 'provider' ? '# appreg Provider' : `# ${spec.typeName} (${kind === 'resource' ? 'Resource' : 'Data Source'})`;
    expect(lines[1]).toBe(title);
    expect(text).toContain(`\n${spec.description}\n`);
  });

  test.each(pages.filter((p) => p.kind !== 'provider'))('$page: the role it needs, and an HCL and a TypeScript example', ({ page, spec, kind }) => {
    const text = pageText(page);
    expect(text).toMatch(/\n## Required role\n\n[\s\S]*`group_admin`[\s\S]*\n## Example Usage\n\n```terraform\n[\s\S]*\n```typescript\n/);
    const { ts } = typeExamples(kind as DocKind, spec.typeName);
    expect(fs.readFileSync(path.join(root, ts), 'utf8')).toContain("from '@appreg/provider-cdktf'");
  });

  test('resources/oauth_client.md: what rotation does to the old secret, and the replacement gap and how to avoid it', () => {
    const text = pageText('resources/oauth_client.md');
    expect(text).toMatch(/## Secret rotation[\s\S]*old secret stops working at once/);
    expect(text).toMatch(/## Replacement[\s\S]*new id, a new client id[\s\S]*Sign-in gap[\s\S]*create_before_destroy[\s\S]*names are unique per group[\s\S]*rename/);
  });

  test('index.md: install from the release files, version constraint, supported Terraform versions, cdktf and cdktn', () => {
    const index = pageText('index.md');
    for (const s of [
      '## Install',
      'terraform-provider-appreg_0.1.0_linux_amd64.zip',
      'terraform-provider-appreg_0.1.0_SHA256SUMS',
      'appreg provider install --from terraform-provider-appreg_0.1.0_linux_amd64.zip',
      '~/.terraform.d/plugins',
      'filesystem_mirror {',
      '.terraform.lock.hcl',
      'version = "~> 0.1"',
      'Terraform 1.0 and newer',
      'Terraform 1.11',
      'npm install ./appreg-provider-cdktf-0.1.0.tgz cdktf@0.21 constructs@10.7',
      'npm install ./appreg-provider-cdktn-0.1.0.tgz cdktn@0.24',
      '### Roles',
    ]) {
      expect({ missing: index.includes(s) ? null : s }).toEqual({ missing: null });
    }
  });

  test('api.md: every operation of GET /openapi.json, with roles, responses and a curl example that never holds a token', () => {
    const text = pageText('api.md');
    expect(text.startsWith('---\npage_title: "Registration service API - appreg"\n')).toBe(true);
    for (const [p, item] of Object.entries(api.document.paths)) {
      for (const method of Object.keys(item)) {
        const heading = `### ${method.toUpperCase()} ${p}`;
        const at = text.indexOf(`\n${heading}\n`);
        expect({ heading, found: at >= 0 }).toEqual({ heading, found: true });
        const section = text.slice(at + 1).split(/\n### /)[0]!;
        expect(section).toMatch(/\*\*Responses:\*\*|\*\*Example:\*\*/);
        expect(section).toMatch(/```shell\ncurl [\s\S]*"\$APPREG_ENDPOINT\//);
        expect(section).toMatch(/Answers `\d{3} [A-Za-z ]+`\./);
      }
    }
    // Tokens only ever as the variable; nothing that looks like an issued token (art_…) or secret (ars_…).
    expect(text).not.toMatch(/\bar[ts]_[A-Za-z0-9_-]{20,}/);
    expect(text).toContain('-H "Authorization: Bearer $APPREG_TOKEN"');
    expect(text).toMatch(/\| 422 Unprocessable Content \| problem document \|/);
  });

  test('front matter: a description over several lines is one indented line of a literal block', () => {
    expect(frontMatter('x Resource - p', 'A\n  b.')).toEqual(['---', 'page_title: "x Resource - p"', 'subcategory: ""', 'description: |-', '  A b.', '---', '']);
  });

  test.each(pages)('$page: every attribute of the schema, under the right heading, and no other', ({ page, spec }) => {
    const listed = listedAttributes(pageText(page));
    const expected = Object.fromEntries(Object.entries(spec.attributes).map(([name, a]) => [name, a.required ? 'Required' : a.optional ? 'Optional' : 'Read-Only']));
    const found = Object.fromEntries([...listed].map(([name, l]) => [name, l.category]));
    expect(found).toEqual(expected);
  });

  test.each(pages)('$page: types as tfplugindocs writes them, Sensitive, defaults and force-new marked', ({ page, spec }) => {
    const listed = listedAttributes(pageText(page));
    for (const [name, a] of Object.entries(spec.attributes)) {
      const l = listed.get(name)!;
      // Spelled out here rather than taken from the generator, so a wrong mapping there fails.
      const type = JSON.stringify(a.type);
      const expectedType = ({ '"string"': 'String', '"bool"': 'Boolean', '"number"': 'Number', '["set","string"]': 'Set of String', '["map","string"]': 'Map of String' } as Record<string, string>)[type];
      expect({ name, type: l.annotations[0] }).toEqual({ name, type: expectedType });
      expect({ name, sensitive: l.annotations.includes('Sensitive') }).toEqual({ name, sensitive: a.sensitive === true });
      expect({ name, forceNew: l.line.includes(FORCE_NEW_SENTENCE) }).toEqual({ name, forceNew: a.requiresReplace === true });
      expect({ name, description: l.line.includes(a.description) }).toEqual({ name, description: true });
      if (a.default !== undefined) expect({ name, line: l.line }).toEqual({ name, line: expect.stringContaining(`Defaults to \`${renderHclValue(a.default)}\``) });
    }
  });

  test('the attributes DOMAIN.md singles out are shown as users need them', () => {
    const client = listedAttributes(pageText('resources/oauth_client.md'));
    expect(client.get('client_secret')).toMatchObject({ category: 'Read-Only', annotations: ['String', 'Sensitive'] });
    expect(client.get('grant_types')!.line).toContain('Defaults to `["authorization_code"]`');
    for (const name of ['group_id', 'scope', 'public_client']) expect(client.get(name)!.line).toContain(FORCE_NEW_SENTENCE);
    expect(client.get('rotation_triggers')).toMatchObject({ category: 'Optional', annotations: ['Map of String'] });
    expect(listedAttributes(pageText('index.md')).get('token')).toMatchObject({ category: 'Optional', annotations: ['String', 'Sensitive'] });
  });

  test('index.md: authentication through APPREG_ENDPOINT and APPREG_TOKEN, and a linked table of every type', () => {
    const index = pageText('index.md');
    expect(index).toMatch(/## Authentication[\s\S]*APPREG_ENDPOINT[\s\S]*APPREG_TOKEN/);
    for (const { page, spec, kind } of pages.filter((p) => p.kind !== 'provider')) {
      expect(index).toContain(`| \`${spec.typeName}\` | ${kind} | [${page}](${page}) |`);
    }
  });
});

describe('docs/images: the README\'s screenshots, kept beside the generated pages', () => {
  const imagesDir = path.join(root, 'docs', 'images');
  const images = fs.existsSync(imagesDir) ? fs.readdirSync(imagesDir).sort() : [];
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  /** The images README.md shows: `![alt](docs/images/…)`. */
  const shown = [...readme.matchAll(/!\[([^\]]*)\]\((docs\/images\/[^)\s]+)\)/g)].map((m) => ({ alt: m[1]!, file: m[2]! }));

  test('images/ is the only folder the generator leaves alone, and it holds no page', () => {
    expect(DOCS_KEPT_DIRS).toEqual(['images']);
    expect([...committed.keys()].filter((rel) => rel.startsWith('images/'))).toEqual([]);
  });

  test('the console\'s two screenshots are there, real PNG files', () => {
    expect(images).toEqual(expect.arrayContaining(['console-credentials.png', 'console-registrations.png']));
    for (const name of images) {
      const head = fs.readFileSync(path.join(imagesDir, name)).subarray(0, 8);
      expect({ name, png: name.endsWith('.png') && head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) }).toEqual({ name, png: true });
    }
  });

  test('every image is shown in README.md with alt text, and every image README.md shows exists', () => {
    for (const name of images) {
      const uses = shown.filter((s) => s.file === `docs/images/${name}`);
      expect({ name, shown: uses.length > 0, alt: uses.every((u) => u.alt.trim().length >= 10) }).toEqual({ name, shown: true, alt: true });
    }
    for (const { file } of shown) expect({ file, exists: fs.existsSync(path.join(root, file)) }).toEqual({ file, exists: true });
  });
});

describe('examples feed the pages', () => {
  const files = exampleFiles();

  test('there is an HCL and a TypeScript example for the provider, every resource and every data source, and an import.sh for every resource', () => {
    const expected = [
      'examples/provider/provider.tf',
      'examples/provider/provider.ts',
      ...appregProvider.resources.flatMap((t) => [`${exampleDir('resource', t.typeName)}/resource.tf`, `${exampleDir('resource', t.typeName)}/resource.ts`, `${exampleDir('resource', t.typeName)}/import.sh`]),
      ...appregProvider.dataSources.flatMap((t) => [`${exampleDir('data source', t.typeName)}/data-source.tf`, `${exampleDir('data source', t.typeName)}/data-source.ts`]),
    ];
    expect(files).toEqual(expected.sort());
  });

  test.each(files)('%s is shown, verbatim, on a page', (rel) => {
    const code = fs.readFileSync(path.join(root, rel), 'utf8').replace(/\r\n/g, '\n').trim();
    const showing = [...committed].filter(([, text]) => text.includes(`\n${code}\n`)).map(([page]) => page);
    expect({ example: rel, pages: showing.length }).toEqual({ example: rel, pages: 1 });
  });

  test.each(appregProvider.resources.map((t) => t.typeName))('%s: import.sh is valid shell and imports a resource its example declares', (typeName) => {
    const script = path.join(root, exampleDir('resource', typeName), 'import.sh');
    execFileSync('sh', ['-n', script]);
    const hcl = fs.readFileSync(path.join(root, exampleDir('resource', typeName), 'resource.tf'), 'utf8');
    const commands = parseImportScript(fs.readFileSync(script, 'utf8'));
    for (const c of commands) {
      const [type, name] = c.address.split('.');
      expect(type).toBe(typeName);
      expect(hcl).toContain(`resource "${type}" "${name}" {`);
    }
    // The page shows both forms of the same import.
    const page = pageText(docPath('resource', typeName));
    expect(page).toMatch(/## Import[\s\S]*```terraform\nimport \{/);
    expect(page).toContain(importBlocks(commands));
  });

  test('the import block form is derived from the command line, with the id quoted for HCL', () => {
    const commands = parseImportScript('# comment\n\nterraform import appreg_app_consent.x grp_a/app_b\nterraform import appreg_oauth_client.y "app_c"\n');
    expect(commands).toEqual([
      { address: 'appreg_app_consent.x', id: 'grp_a/app_b' },
      { address: 'appreg_oauth_client.y', id: 'app_c' },
    ]);
    expect(importBlocks(commands)).toBe(
      'import {\n  to = appreg_app_consent.x\n  id = "grp_a/app_b"\n}\n\nimport {\n  to = appreg_oauth_client.y\n  id = "app_c"\n}',
    );
    expect(() => parseImportScript('terraform import onlyone\n', 'x/import.sh')).toThrow(/x\/import\.sh:1: expected 'terraform import <address> <id>'/);
    expect(() => parseImportScript('# nothing\n', 'x/import.sh')).toThrow(/no 'terraform import/);
  });
});

describe('the generator', () => {
  /** A small provider with one attribute of every kind the docs render differently. */
  const fixture: ProviderSpec = {
    provider: { typeName: 'fx', version: 0, description: 'Fixture provider.', attributes: { token: { type: 'string', optional: true, sensitive: true, description: 'A token' } } },
    resources: [
      {
        typeName: 'fx_widget',
        version: 0,
        description: 'A widget. More text.',
        attributes: {
          id: { type: 'string', computed: true, description: 'Id.' },
          name: { type: 'string', required: true, requiresReplace: true, description: 'Name.' },
          size: { type: 'number', optional: true, computed: true, default: 3, description: 'Size.' },
          tags: { type: ['list', 'string'], optional: true, computed: true, default: ['a', 'b'], description: 'Tags. Defaults to `["a", "b"]`.' },
          labels: { type: ['map', 'number'], optional: true, description: 'Labels | pipes.' },
        },
      },
    ],
    dataSources: [{ typeName: 'fx_widget', version: 0, description: 'Finds | a widget.', attributes: { name: { type: 'string', required: true, description: 'Name.' } } }],
  };
  const fixtureNotes = {
    'resource:fx_widget': { role: ['Any `group_admin`.'], sections: [{ title: 'Lifecycle', lines: ['Widgets last.'] }] },
    'data source:fx_widget': { role: ['Anyone.'] },
  };
  const generateFixture = (dir: string, spec: ProviderSpec = fixture): Promise<Map<string, string>> => generateDocs(dir, spec, tinyApi, fixtureNotes);

  async function withFixtureRoot<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-docs-test-'));
    try {
      const write = (rel: string, text: string): void => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
      };
      write('examples/provider/provider.tf', 'provider "fx" {}\r\n');
      write('examples/resources/fx_widget/resource.tf', 'resource "fx_widget" "w" {\n  name = "a ```fenced``` name"   \n}\n\n\n');
      write('examples/resources/fx_widget/import.sh', 'terraform import fx_widget.w w1\n');
      write('examples/data-sources/fx_widget/data-source.tf', 'data "fx_widget" "w" {\n  name = "w"\n}\n');
      write('examples/provider/provider.ts', 'new FxProvider(this, "fx");\n');
      write('examples/resources/fx_widget/resource.ts', 'new Widget(this, "w", { name: "n" });\n');
      write('examples/data-sources/fx_widget/data-source.ts', 'new DataFxWidget(this, "w", { name: "w" });\n');
      return await fn(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test('a small schema: pages, sections and annotations', () =>
    withFixtureRoot(async (dir) => {
      const docs = await generateFixture(dir);
      expect([...docs.keys()]).toEqual(['api.md', 'data-sources/widget.md', 'index.md', 'resources/widget.md']);
      const widget = docs.get('resources/widget.md')!;
      expect(widget).toContain('- `name` (String) Name. Changing this forces a new resource to be created.\n');
      expect(widget).toContain('- `size` (Number) Size. Defaults to `3`.\n');
      // The schema text already states the default: it is not repeated.
      expect(widget).toContain('- `tags` (List of String) Tags. Defaults to `["a", "b"]`.\n');
      expect(widget).toContain('- `labels` (Map of Number) Labels | pipes.\n');
      expect(widget).toContain('### Read-Only\n\n- `id` (String) Id.\n');
      // A fence longer than any backtick run in the example; CRLF and trailing blanks dropped.
      expect(widget).toContain('````terraform\nresource "fx_widget" "w" {\n  name = "a ```fenced``` name"\n}\n````\n');
      expect(widget).toContain('import {\n  to = fx_widget.w\n  id = "w1"\n}');
      expect(widget).toContain('---\npage_title: "fx_widget Resource - fx"\nsubcategory: ""\ndescription: |-\n  A widget. More text.\n---\n');
      expect(widget).toMatch(/## Required role\n\nAny `group_admin`\.\n\n## Example Usage\n\n````terraform[\s\S]*```typescript\nnew Widget[\s\S]*## Lifecycle\n\nWidgets last\.\n\n[\s\S]*## Schema/);
      expect(docs.get('api.md')).toContain('### GET /healthz\n\nHealth.\n\n**Authentication:** none.');
      const index = docs.get('index.md')!;
      expect(index).toContain('```terraform\nprovider "fx" {}\n```');
      expect(index).toContain('- `token` (String, Sensitive) A token.\n');
      expect(index).toContain('| `fx_widget` | resource | [resources/widget.md](resources/widget.md) | A widget. |');
      expect(index).toContain('| `fx_widget` | data source | [data-sources/widget.md](data-sources/widget.md) | Finds \\| a widget. |');
      for (const [rel, text] of docs) {
        expect({ rel, trailingSpace: /[ \t]$/m.test(text), endsWithOneNewline: /[^\n]\n$/.test(text), machinePath: text.includes(dir) }).toEqual({
          rel,
          trailingSpace: false,
          endsWithOneNewline: true,
          machinePath: false,
        });
      }
    }));

  test('deterministic: two runs, each with its own service, give the same bytes, with nothing of the machine or the time', async () => {
    const first = await generateDocs(root);
    expect([...(await generateDocs(root))]).toEqual([...first]);
    for (const [rel, text] of first) {
      for (const s of [root, os.homedir(), os.tmpdir()].filter((x) => x.length > 5)) expect({ rel, contains: text.includes(s) ? s : null }).toEqual({ rel, contains: null });
      expect({ rel, timestamp: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text) }).toEqual({ rel, timestamp: false });
    }
  });

  test('a missing example, a stray example folder or file, and a bad import.sh are refused by name', () =>
    withFixtureRoot(async (dir) => {
      fs.rmSync(path.join(dir, 'examples/data-sources/fx_widget/data-source.tf'));
      await expect(generateFixture(dir)).rejects.toThrow(/examples\/data-sources\/fx_widget\/data-source\.tf is missing/);
      fs.writeFileSync(path.join(dir, 'examples/data-sources/fx_widget/data-source.tf'), 'data "fx_widget" "w" {}\n');
      fs.rmSync(path.join(dir, 'examples/resources/fx_widget/resource.ts'));
      await expect(generateFixture(dir)).rejects.toThrow(/examples\/resources\/fx_widget\/resource\.ts is missing/);
      fs.writeFileSync(path.join(dir, 'examples/resources/fx_widget/resource.ts'), 'new Widget(this, "w", {});\n');
      fs.writeFileSync(path.join(dir, 'examples/data-sources/fx_widget/data-source.tf'), 'data "fx_widget" "w" {}\n');

      fs.mkdirSync(path.join(dir, 'examples/resources/fx_gone'));
      fs.writeFileSync(path.join(dir, 'examples/resources/fx_widget/notes.tf'), '');
      await expect(generateFixture(dir)).rejects.toThrow(
        /examples\/resources\/fx_gone \(no resource of that name in src\/schema\)[\s\S]*examples\/resources\/fx_widget\/notes\.tf \(expected only resource\.tf, resource\.ts, import\.sh\)/,
      );
      fs.rmSync(path.join(dir, 'examples/resources/fx_gone'), { recursive: true });
      fs.rmSync(path.join(dir, 'examples/resources/fx_widget/notes.tf'));

      fs.writeFileSync(path.join(dir, 'examples/resources/fx_widget/import.sh'), 'echo hi\n');
      await expect(generateFixture(dir)).rejects.toThrow(/examples\/resources\/fx_widget\/import\.sh:1: expected 'terraform import/);
      fs.writeFileSync(path.join(dir, 'examples/resources/fx_widget/import.sh'), 'terraform import fx_widget.w w1\n');

      // A type without notes, and an operation of the service without roles and an example, are refused by name.
      await expect(generateDocs(dir, fixture, tinyApi, {})).rejects.toThrow(/TYPE_NOTES in scripts\/docs\.ts has no entry 'resource:fx_widget'/);
      const extra: ApiSource = { ...tinyApi, document: { ...tinyApi.document, paths: { ...tinyApi.document.paths, '/v1/new': { get: { summary: 'New' } } } } };
      await expect(generateDocs(dir, fixture, extra, fixtureNotes)).rejects.toThrow(/operations without roles and an example: GET \/v1\/new/);
    }));

  test('an attribute with no required/optional/computed flag is a schema error, not a guess', () =>
    withFixtureRoot(async (dir) => {
      const broken: ProviderSpec = {
        ...fixture,
        resources: [{ ...fixture.resources[0]!, attributes: { ...fixture.resources[0]!.attributes, odd: { type: 'string', description: 'Odd.' } } }],
      };
      await expect(generateFixture(dir, broken)).rejects.toThrow(/Attribute odd is neither required, optional nor computed/);
    }));

  test('types and default values are written the way Terraform users read them', () => {
    expect(renderType('string')).toBe('String');
    expect(renderType('bool')).toBe('Boolean');
    expect(renderType('number')).toBe('Number');
    expect(renderType(['set', 'string'])).toBe('Set of String');
    expect(renderType(['map', 'string'])).toBe('Map of String');
    expect(renderType(['list', ['set', 'number']])).toBe('List of Set of Number');
    expect(renderHclValue(['authorization_code'])).toBe('["authorization_code"]');
    expect(renderHclValue({ b: 'x', a: true, 'not ident': 1 })).toBe('{ a = true, b = "x", "not ident" = 1 }');
    expect(renderHclValue(false)).toBe('false');
  });
});

describe('the check', () => {
  test('a hand edit, a missing page and a stray page are each named, with the fix', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-docs-check-'));
    try {
      for (const rel of exampleFiles()) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.copyFileSync(path.join(root, rel), path.join(dir, rel));
      }
      const generated = await generateDocs(dir, undefined, api);
      // A screenshot the README shows is not a page: it is neither reported nor removed.
      fs.mkdirSync(path.join(dir, 'docs/images'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'docs/images/shot.png'), 'png');
      writeDocs(generated, dir);
      expect(await checkDocs(dir, api)).toEqual([]);
      expect(fs.readFileSync(path.join(dir, 'docs/images/shot.png'), 'utf8')).toBe('png');
      expect(() => writeDocs(new Map([['images/page.md', '# no\n']]), dir)).toThrow(/generated pages inside a kept folder of docs\/: images\/page\.md/);

      // Windows line endings are not a difference.
      fs.writeFileSync(path.join(dir, 'docs/index.md'), generated.get('index.md')!.replace(/\n/g, '\r\n'));
      expect(await checkDocs(dir, api)).toEqual([]);

      fs.writeFileSync(path.join(dir, 'docs/index.md'), generated.get('index.md')!.replace('## Authentication', '## Auth'));
      fs.rmSync(path.join(dir, 'docs/resources/app_consent.md'));
      fs.writeFileSync(path.join(dir, 'docs/resources/removed.md'), '# gone\n');
      const problems = await checkDocs(dir, api);
      expect(problems).toEqual([
        expect.stringMatching(/^changed  docs\/index\.md: first difference at line \d+:/),
        'missing  docs/resources/app_consent.md',
        'extra    docs/resources/removed.md (not produced by the generator)',
      ]);
      expect(describeDocsProblems(problems)).toMatch(/3 differences[\s\S]*run npm run docs and commit/);
      expect(DOCS_FIX_HINT).toContain('run npm run docs and commit');

      // Writing replaces the folder, so the stray page goes; the kept image stays.
      writeDocs(generated, dir);
      expect(await checkDocs(dir, api)).toEqual([]);
      expect(fs.existsSync(path.join(dir, 'docs/resources/removed.md'))).toBe(false);
      expect(fs.existsSync(path.join(dir, 'docs/images/shot.png'))).toBe(true);

      // A route whose documentation changed in the service makes api.md stale.
      const changed: ApiSource = JSON.parse(JSON.stringify(api)) as ApiSource;
      changed.document.paths['/v1/apps']!.get!.summary = 'List apps differently';
      expect(await checkDocs(dir, changed)).toEqual([expect.stringMatching(/^changed  docs\/api\.md: first difference at line \d+:/)]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
