/**
 * Terraform for the bench: the provider executable (the release build, or
 * one given), a CLI configuration whose `dev_overrides` points at it, and
 * working directories holding N `appreg_oauth_client` or N `terraform_data`
 * (Terraform's built-in resource: no plugin, no network, the baseline).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { progress, ROOT, runTimed, tempDir, type TimedRun } from './common';

/** The provider executable under test and the folder `dev_overrides` names. */
export interface ProviderUnderTest {
  /** The executable, as given or as unpacked from the release zip. */
  executable: string;
  /** A folder holding `terraform-provider-appreg` (the executable, or a link to it). */
  overrideDir: string;
  /** What the report calls it. */
  label: string;
}

/**
 * Builds the release provider (`node dist/scripts/release.js --provider-only`)
 * into a temporary folder and unpacks its executable, or takes `given`.
 */
export async function prepareProvider(given: string | undefined): Promise<ProviderUnderTest> {
  const dir = tempDir('provider');
  const overrideDir = path.join(dir, 'override');
  fs.mkdirSync(overrideDir);
  const linkName = path.join(overrideDir, 'terraform-provider-appreg');
  if (given !== undefined) {
    const executable = path.resolve(given);
    fs.accessSync(executable, fs.constants.X_OK);
    fs.symlinkSync(executable, linkName);
    return { executable, overrideDir, label: path.relative(ROOT, executable) || executable };
  }
  progress('building the release provider (release.js --provider-only)');
  const out = path.join(dir, 'release');
  const r = await runTimed(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'release.js'), '--provider-only', '--out', out]);
  if (r.code !== 0) throw new Error(`release.js --provider-only exited ${r.code}:\n${r.stderr}`);
  const zip = fs.readdirSync(out).find((f) => f.endsWith('.zip'));
  if (!zip) throw new Error(`release.js wrote no zip into ${out}`);
  const inside = await unzipSingle(path.join(out, zip), linkName);
  fs.rmSync(path.join(out, zip));
  progress(`release provider ${inside} built in ${(r.ms / 1000).toFixed(1)} s`);
  return { executable: linkName, overrideDir, label: `release executable ${inside}` };
}

/** Writes the one file of `zipPath` to `dest` (mode 755); returns its name in the zip. */
async function unzipSingle(zipPath: string, dest: string): Promise<string> {
  // yauzl is a dependency already (appreg provider install reads the same zip with it).
  const yauzl = require('yauzl') as typeof import('yauzl');
  const zip = await new Promise<import('yauzl').ZipFile>((resolve, reject) =>
    yauzl.open(zipPath, { lazyEntries: true }, (err, z) => (err || !z ? reject(err ?? new Error('no zip')) : resolve(z))),
  );
  return new Promise<string>((resolve, reject) => {
    zip.once('entry', (entry: import('yauzl').Entry) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) return reject(err ?? new Error('no stream'));
        const out = fs.createWriteStream(dest, { mode: 0o755 });
        stream.pipe(out);
        out.once('finish', () => {
          zip.close();
          resolve(entry.fileName);
        });
        out.once('error', reject);
      });
    });
    zip.once('error', reject);
    zip.once('end', () => reject(new Error(`${zipPath} is empty`)));
    zip.readEntry();
  });
}

/** Which resources a working directory holds. */
export type Kind = 'appreg' | 'terraform_data';

/** A Terraform working directory of `n` resources of one kind. */
export class Workspace {
  readonly dir: string;

  constructor(
    readonly kind: Kind,
    readonly n: number,
    private readonly env: NodeJS.ProcessEnv,
    groupId: string,
  ) {
    this.dir = tempDir(`${kind === 'appreg' ? 'appreg' : 'data'}-${n}`);
    fs.writeFileSync(path.join(this.dir, 'main.tf'), configuration(kind, n, groupId));
  }

  /** `terraform apply`, timed; throws when it fails. */
  async apply(): Promise<TimedRun> {
    const r = await this.terraform(['apply', '-auto-approve', '-input=false', '-no-color']);
    if (r.code !== 0) throw new Error(`terraform apply of ${this.n} ${this.kind} exited ${r.code}:\n${tail(r.stdout)}\n${tail(r.stderr)}`);
    return r;
  }

  /**
   * `terraform plan`, timed; throws unless it found no changes.
   * `env` overrides the provider's environment (the endpoint, to go through the counting proxy).
   */
  async plan(opts: { env?: NodeJS.ProcessEnv; onStart?: (pid: number) => void } = {}): Promise<TimedRun> {
    const r = await this.terraform(['plan', '-detailed-exitcode', '-input=false', '-no-color'], opts);
    if (r.code !== 0) {
      const what = r.code === 2 ? 'found changes where none were expected' : `exited ${r.code}`;
      throw new Error(`terraform plan of ${this.n} ${this.kind} ${what}:\n${tail(r.stdout)}\n${tail(r.stderr)}`);
    }
    return r;
  }

  private terraform(args: string[], opts: { env?: NodeJS.ProcessEnv; onStart?: (pid: number) => void } = {}): Promise<TimedRun> {
    return runTimed('terraform', args, {
      cwd: this.dir,
      env: { ...this.env, ...opts.env },
      ...(opts.onStart ? { onStart: opts.onStart } : {}),
    });
  }
}

/** The last lines of some output, for an error message. */
function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * The environment of every Terraform command: its own CLI configuration
 * (the machine's TF_CLI_CONFIG_FILE may name a missing file), no log, no
 * checkpoint call, the provider configured from APPREG_ENDPOINT / APPREG_TOKEN.
 */
export function terraformEnv(provider: ProviderUnderTest, vars: { endpoint: string; token: string }): NodeJS.ProcessEnv {
  const cliConfig = path.join(tempDir('cli'), 'terraformrc');
  fs.writeFileSync(
    cliConfig,
    `provider_installation {\n  dev_overrides {\n    "appreg/appreg" = ${JSON.stringify(provider.overrideDir)}\n  }\n  direct {}\n}\n`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    APPREG_ENDPOINT: vars.endpoint,
    APPREG_TOKEN: vars.token,
  };
  for (const k of Object.keys(env)) if (k.startsWith('TF_LOG') || k === 'TF_PLUGIN_CACHE_DIR') delete env[k];
  return env;
}

/**
 * N clients (the fields a team sets: group, name, scope, one callback URL),
 * or N `terraform_data` holding the same values, so that Terraform's own
 * work (expanding `count`, diffing the attributes) is alike on both sides.
 * Names carry N, so configurations of different sizes share one group.
 */
export function configuration(kind: Kind, n: number, groupId: string): string {
  const fields = `    group_id      = ${JSON.stringify(groupId)}
    name          = "Bench${n} \${count.index}"
    scope         = "group"
    callback_urls = ["https://app\${count.index}.example.com/oauth/callback"]`;
  if (kind === 'terraform_data') {
    return `resource "terraform_data" "c" {
  count = ${n}
  input = {
${fields}
  }
}
`;
  }
  return `terraform {
  required_providers {
    appreg = { source = "appreg/appreg" }
  }
}

provider "appreg" {}

resource "appreg_oauth_client" "c" {
  count = ${n}
${fields.replace(/^ {4}/gm, '  ')}
}
`;
}
