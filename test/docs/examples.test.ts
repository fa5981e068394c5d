/**
 * The HCL examples the docs show, run through the real `terraform` binary:
 * `terraform fmt -check` on the files as committed, and `terraform validate`
 * of each example on its own, with this checkout's provider (bin/) found
 * through `dev_overrides`. Validate asks the provider for its schema, so an
 * attribute an example misspells, forgets or sets although it is read-only
 * fails here before a user copies it from the docs.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exampleDir, importBlocks, parseImportScript, PROVIDER_EXAMPLE } from '../../scripts/docs';
import { appregProvider } from '../../src/schema';
import { REPO_ROOT, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(120_000);

/** The one diagnostic every run with `dev_overrides` carries; anything else is a finding. */
const DEV_OVERRIDES_WARNING = 'Provider development overrides are in effect';

/** What `terraform validate -json` prints. */
interface ValidateJson {
  valid: boolean;
  error_count: number;
  warning_count: number;
  diagnostics: Array<{ severity: string; summary: string; detail?: string; range?: { filename: string } }>;
}

/** An example as validated: the files copied into the workspace next to the provider configuration. */
interface ExampleCase {
  name: string;
  files: string[];
  /** For resources: the `import` blocks the docs derive from import.sh, validated with the example they import into. */
  importsFrom?: string;
}

const cases: ExampleCase[] = [
  { name: 'provider', files: [] },
  ...appregProvider.resources.map((t) => ({
    name: `resource ${t.typeName}`,
    files: [`${exampleDir('resource', t.typeName)}/resource.tf`],
    importsFrom: `${exampleDir('resource', t.typeName)}/import.sh`,
  })),
  ...appregProvider.dataSources.map((t) => ({ name: `data source ${t.typeName}`, files: [`${exampleDir('data source', t.typeName)}/data-source.tf`] })),
];

function terraform(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('terraform', args, { cwd, env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  requireTerraform();
});

describe('examples are formatted as terraform fmt writes them', () => {
  test.each(['examples/provider', 'examples/resources', 'examples/data-sources'])('%s', async (dir) => {
    const r = await terraform(['fmt', '-check', '-diff', '-recursive', '-no-color', dir], REPO_ROOT);
    expect({ dir, code: r.code, diff: r.stdout }).toEqual({ dir, code: 0, diff: '' });
  });
});

describe('each example validates on its own with the provider from this checkout', () => {
  beforeAll(() => {
    requireBuiltProvider();
  });

  test.each(cases)('$name', async ({ files, importsFrom }) => {
    // validate never configures the provider, so no service is needed; the values only satisfy the harness.
    const ws = new TerraformWorkspace({ endpoint: 'http://127.0.0.1:9', token: 'validate-only' });
    try {
      ws.write(fs.readFileSync(path.join(REPO_ROOT, PROVIDER_EXAMPLE), 'utf8'), 'provider.tf');
      for (const rel of files) ws.write(fs.readFileSync(path.join(REPO_ROOT, rel), 'utf8'), path.basename(rel));
      if (importsFrom) ws.write(`${importBlocks(parseImportScript(fs.readFileSync(path.join(REPO_ROOT, importsFrom), 'utf8'), importsFrom))}\n`, 'import.tf');

      // The derived import blocks are shown on the page, so they must be fmt-clean too.
      const fmt = await ws.run(['fmt', '-check', '-diff', '-no-color']);
      expect({ fmt: fmt.code, diff: fmt.stdout }).toEqual({ fmt: 0, diff: '' });

      const r = await ws.run(['validate', '-json', '-no-color']);
      let result: ValidateJson;
      try {
        result = JSON.parse(r.stdout) as ValidateJson;
      } catch {
        throw new Error(`terraform validate printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}\nprovider log: ${ws.logPath}`);
      }
      const findings = result.diagnostics.filter((d) => d.summary !== DEV_OVERRIDES_WARNING);
      expect({ valid: result.valid, findings }).toEqual({ valid: true, findings: [] });
      expect(r.code).toBe(0);
      ws.dispose();
    } catch (e) {
      // Keep the workspace (config and TF_LOG trace) of a failure for whoever reads the CI log.
      throw new Error(`${e instanceof Error ? e.message : String(e)}\nworkspace kept at ${ws.dir}`);
    }
  });

  test('validate really checks examples against the provider schema: a misspelt attribute fails', async () => {
    const ws = new TerraformWorkspace({ endpoint: 'http://127.0.0.1:9', token: 'validate-only' });
    try {
      ws.write(fs.readFileSync(path.join(REPO_ROOT, PROVIDER_EXAMPLE), 'utf8'), 'provider.tf');
      ws.write('resource "appreg_tenant_oauth_setting" "x" {\n  oauth_enable = true\n}\n');
      const r = await ws.run(['validate', '-json', '-no-color']);
      const result = JSON.parse(r.stdout) as ValidateJson;
      expect(result.valid).toBe(false);
      expect(result.diagnostics.map((d) => `${d.summary}: ${d.detail ?? ''}`).join('\n')).toMatch(/oauth_enable\b[\s\S]*oauth_enabled/);
    } finally {
      ws.dispose();
    }
  });
});
