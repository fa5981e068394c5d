/**
 * Writes the upgrade fixture of this release: `test/fixtures/upgrade/<version>/`
 * with the configuration, the `terraform.tfstate` this provider wrote for it,
 * and the SQLite database the registration service had at that moment.
 * test/provider/upgrade.test.ts then checks that every later provider plans
 * that state with no changes. Run it once per release, before the version in
 * package.json moves on:
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/upgrade-fixture.js [--force]
 *
 * It runs the real `terraform` with this checkout's provider, like the tests.
 *
 * Everything in the fixture is throwaway: a tenant made for it, a token made
 * for it and used nowhere else, and client secrets of apps that exist only
 * in that database.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { adminGroupAdd, adminInit, startService } from '../src/server';
import { VERSION } from '../src/version';

/** What the upgrade test needs besides the three files: how to reach the copied database. */
export interface UpgradeFixture {
  /** The release that wrote the state. */
  version: string;
  /** Terraform that wrote it (`terraform version`, first line). */
  terraform: string;
  tenant: string;
  /**
   * The `tenant_security_admin` token of the fixture's tenant. A fixture
   * token: its database is committed next to it and exists nowhere else.
   */
  token: string;
  note: string;
}

/**
 * A representative configuration: the tenant setting, a confidential client
 * with rotation triggers and PKCE, a public device client, an organization
 * app and a consent of another group to it.
 */
export const FIXTURE_CONFIG = `terraform {
  required_providers {
    appreg = { source = "appreg/appreg" }
  }
}

# Endpoint and token come from APPREG_ENDPOINT and APPREG_TOKEN.
provider "appreg" {}

data "appreg_group" "platform" { name = "platform" }
data "appreg_group" "billing" { name = "billing" }

resource "appreg_tenant_oauth_setting" "this" {
  oauth_enabled = true
}

resource "appreg_oauth_client" "wiki" {
  group_id          = data.appreg_group.platform.id
  name              = "Team Wiki"
  description       = "Confidential web app"
  scope             = "group"
  callback_urls     = ["https://wiki.example.com/oauth/callback", "http://localhost:3000/oauth/callback"]
  require_pkce      = true
  rotation_triggers = { quarter = "2026-Q4" }
  depends_on        = [appreg_tenant_oauth_setting.this]
}

resource "appreg_oauth_client" "cli" {
  group_id      = data.appreg_group.platform.id
  name          = "Deploy CLI"
  scope         = "group"
  public_client = true
  grant_types   = ["authorization_code", "device_code"]
  callback_urls = ["http://127.0.0.1:8400/callback"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}

resource "appreg_oauth_client" "portal" {
  group_id      = data.appreg_group.platform.id
  name          = "Partner Portal"
  scope         = "organization"
  enabled       = false
  callback_urls = ["https://portal.example.com/callback"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}

resource "appreg_app_consent" "billing" {
  group_id = data.appreg_group.billing.id
  app_id   = appreg_oauth_client.portal.id
}

output "wiki_client_id" { value = appreg_oauth_client.wiki.client_id }
`;

/** The folder of all upgrade fixtures, one per release. */
export function fixturesDir(root: string): string {
  return path.join(root, 'test', 'fixtures', 'upgrade');
}

/**
 * Runs `terraform` in `dir` with this checkout's provider (a `dev_overrides`
 * CLI configuration, as the tests use); throws with its output unless it
 * exits with one of `codes`. Self-contained, because the test helpers find
 * the checkout relative to their source and this script runs from `dist/`.
 */
async function terraform(root: string, dir: string, env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  // Asynchronous: the service runs in this process and must keep answering while Terraform runs.
  try {
    return (await promisify(execFile)('terraform', args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`terraform ${args.join(' ')} exited ${err.code} (provider from ${root}/bin):\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/** Writes the fixture of `version` into `out` with the provider of the checkout at `root`; refuses to overwrite one unless `force`. */
export async function writeUpgradeFixture(root: string, out: string, opts: { version?: string; force?: boolean } = {}): Promise<void> {
  const version = opts.version ?? VERSION;
  if (fs.existsSync(out) && !opts.force) throw new Error(`${out} exists: a release's fixture is kept as it was written (--force to write it again)`);
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'provider', 'main.js'))) throw new Error('build first: npx tsc -p tsconfig.json');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-upgrade-fixture-'));
  const db = path.join(tmp, 'appreg.db');
  const work = path.join(tmp, 'work');
  fs.mkdirSync(work);
  const cliConfig = path.join(tmp, 'terraformrc');
  fs.writeFileSync(cliConfig, `provider_installation {\n  dev_overrides {\n    "appreg/appreg" = ${JSON.stringify(path.join(root, 'bin'))}\n  }\n  direct {}\n}\n`);
  const tenant = 'upgrade-fixture';
  try {
    const { token } = await adminInit(db, { tenant, sso: false });
    for (const name of ['platform', 'billing']) await adminGroupAdd(db, { tenant, name });
    const service = await startService({ db, host: '127.0.0.1', port: 0, log: false });
    const env = { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', APPREG_ENDPOINT: service.url, APPREG_TOKEN: token };
    let terraformVersion: string;
    try {
      terraformVersion = (await terraform(root, work, env, ['version'])).split('\n')[0]!;
      fs.writeFileSync(path.join(work, 'main.tf'), FIXTURE_CONFIG);
      await terraform(root, work, env, ['apply', '-auto-approve', '-no-color']);
      // Exit code 0 (no changes) or the fixture would not prove anything about the next provider.
      await terraform(root, work, env, ['plan', '-detailed-exitcode', '-no-color']);
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(out, { recursive: true });
      fs.copyFileSync(path.join(work, 'main.tf'), path.join(out, 'main.tf'));
      fs.copyFileSync(path.join(work, 'terraform.tfstate'), path.join(out, 'terraform.tfstate'));
    } finally {
      // Closing the service closes the database, so everything is in the main file, not a WAL beside it.
      await service.close();
    }
    for (const extra of ['-wal', '-shm', '-journal']) {
      if (fs.existsSync(db + extra) && fs.statSync(db + extra).size > 0) throw new Error(`${db}${extra} is left after the service closed: the database copy would be incomplete`);
    }
    fs.copyFileSync(db, path.join(out, 'appreg.db'));
    const fixture: UpgradeFixture = {
      version,
      terraform: terraformVersion,
      tenant,
      token,
      note: 'Throwaway fixture data: this token, the database beside it and the client secrets in terraform.tfstate exist only here.',
    };
    fs.writeFileSync(path.join(out, 'fixture.json'), JSON.stringify(fixture, null, 2) + '\n');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..', '..');
  const out = path.join(fixturesDir(root), VERSION);
  writeUpgradeFixture(root, out, { force: process.argv.includes('--force') }).then(
    () => console.log(`wrote ${path.relative(root, out)}`),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    },
  );
}
