/**
 * `appreg provider install`: lays the provider out in a Terraform filesystem
 * mirror, so that `terraform init` (and so `cdktf deploy`) finds it with no
 * network. Terraform ignores `dev_overrides` in `init`, hence the mirror.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { VERSION } from '../version';

/** Terraform's name for this machine's platform, e.g. `linux_amd64`. */
export function terraformPlatform(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const osName = platform === 'win32' ? 'windows' : platform;
  const archName = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[arch] ?? arch;
  return `${osName}_${archName}`;
}

/** The implied local mirror Terraform searches without any CLI configuration. */
export function defaultMirrorDir(): string {
  return path.join(os.homedir(), '.terraform.d', 'plugins');
}

/** Where the provider executable goes inside a mirror. */
export function mirrorExecutablePath(dir: string, version: string = VERSION, platform: string = terraformPlatform()): string {
  return path.join(dir, 'registry.terraform.io', 'appreg', 'appreg', version, platform, `terraform-provider-appreg_v${version}`);
}

/**
 * Writes the provider into the mirror `dir`: a small shell script that runs
 * this checkout's compiled provider with the same Node that runs this command.
 * @returns the path of the executable written
 */
export function installProvider(dir: string = defaultMirrorDir()): string {
  const root = path.resolve(__dirname, '..', '..', '..');
  const entry = path.join(root, 'dist', 'src', 'provider', 'main.js');
  if (!fs.existsSync(entry)) {
    throw new Error(`${entry} does not exist: build appreg first (npm run build)`);
  }
  const target = mirrorExecutablePath(path.resolve(dir));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const script = `#!/bin/sh\n# appreg ${VERSION} provider, installed by 'appreg provider install'.\nexec ${shellQuote(process.execPath)} ${shellQuote(entry)} "$@"\n`;
  // Write then rename: a Terraform run reading the mirror never sees half a file.
  const tmp = `${target}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, script, { mode: 0o755 });
  fs.renameSync(tmp, target);
  return target;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Adds `provider install` to the command line. */
export function registerProviderCommands(program: Command): void {
  const provider = program.command('provider').description('install the Terraform provider');
  provider
    .command('install')
    .description('lay the provider out in a Terraform filesystem mirror, so terraform init finds it offline')
    .option('--dir <dir>', 'mirror directory', defaultMirrorDir())
    .action((opts: { dir: string }) => {
      const target = installProvider(opts.dir);
      process.stdout.write(`${JSON.stringify({ path: target, source: 'appreg/appreg', version: VERSION })}\n`);
    });
}
