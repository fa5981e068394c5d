/**
 * The names of the provider release files, as Terraform registries and
 * filesystem mirrors expect them, and the small helpers both the release
 * build and `appreg provider install` use. Kept apart from the build so the
 * command line loads no build tooling just to name a file.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The provider's type name, as in `terraform-provider-<type>`. */
export const PROVIDER_TYPE = 'appreg';

/** The provider's namespace on the (implied) registry host. */
export const PROVIDER_NAMESPACE = 'appreg';

/** The registry host Terraform assumes for the source address `appreg/appreg`. */
export const REGISTRY_HOST = 'registry.terraform.io';

/** Terraform's name for a platform, e.g. `linux_amd64`. */
export function terraformPlatform(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const osName = platform === 'win32' ? 'windows' : platform;
  const archName = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[arch] ?? arch;
  return `${osName}_${archName}`;
}

/** `terraform-provider-appreg_<version>_<platform>.zip`. */
export function providerZipName(version: string, platform: string = terraformPlatform()): string {
  return `terraform-provider-${PROVIDER_TYPE}_${version}_${platform}.zip`;
}

/** The one file inside the zip: `terraform-provider-appreg_v<version>`. */
export function providerExecutableName(version: string): string {
  return `terraform-provider-${PROVIDER_TYPE}_v${version}`;
}

/** `terraform-provider-appreg_<version>_SHA256SUMS`. */
export function sha256SumsName(version: string): string {
  return `terraform-provider-${PROVIDER_TYPE}_${version}_SHA256SUMS`;
}

/** `terraform-provider-appreg_<version>_manifest.json`. */
export function manifestName(version: string): string {
  return `terraform-provider-${PROVIDER_TYPE}_${version}_manifest.json`;
}

/** What a provider zip's name says. */
export interface ProviderZipName {
  version: string;
  /** e.g. `linux_amd64`. */
  platform: string;
  os: string;
  arch: string;
}

/**
 * Reads version, os and arch from `terraform-provider-appreg_<version>_<os>_<arch>.zip`;
 * null for any other name. The version is a semantic version (Terraform
 * refuses anything else), with an optional pre-release part.
 */
export function parseProviderZipName(fileName: string): ProviderZipName | null {
  const m = /^terraform-provider-appreg_(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)_([a-z0-9]+)_([a-z0-9]+)\.zip$/.exec(fileName);
  if (!m) return null;
  const [, version, osName, arch] = m as unknown as [string, string, string, string];
  return { version, os: osName, arch, platform: `${osName}_${arch}` };
}

/** Hex SHA-256 of a file, read in chunks (the executable is about 100 MB). */
export function sha256File(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * The appreg checkout (or installed package) a module belongs to: the
 * nearest folder above `start` with appreg's package.json and `bin/appreg`
 * (the compiler also copies package.json into `dist/`, which is not the
 * root). Looked up rather than counted, because the same module runs
 * compiled from `dist/` and as TypeScript under the tests, at different depths.
 */
export function findAppregRoot(start: string): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'appreg' && fs.existsSync(path.join(dir, 'bin', 'appreg'))) return dir;
    } catch {
      // No package.json here (or not JSON): keep going up.
    }
    if (path.dirname(dir) === dir) throw new Error(`no appreg package.json above ${start}`);
  }
}
