/**
 * `npm ci` on the Node.js version the README supports installs without an
 * engine warning: every package in the lock file accepts the lowest Node.js
 * version that appreg's own `engines` field allows.
 *
 * Why from the lock file: npm records each package's `engines` there, and it
 * is exactly what `npm ci` installs, so this fails the moment an upgrade pulls
 * in a package that wants a newer Node.js (as `cookie` 2, through
 * `light-my-request` 6.8, did: it wants Node.js 22).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as semver from 'semver';

const ROOT = path.resolve(__dirname, '..', '..');

interface LockPackage {
  version?: string;
  engines?: { node?: string } | string[];
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as T;
}

describe('npm ci on the supported Node.js versions', () => {
  const pkg = readJson<{ engines: { node: string } }>('package.json');
  const lock = readJson<{ packages: Record<string, LockPackage> }>('package-lock.json');
  const lowest = semver.minVersion(pkg.engines.node);

  it('appreg declares a lowest Node.js version that this machine meets', () => {
    expect(lowest).not.toBeNull();
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
  });

  it('no installed package wants a newer Node.js than the lowest one appreg supports', () => {
    const refusing: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      // Old lock entries may carry engines as an array of strings; those name no node range.
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (range === undefined || where === '') continue;
      for (const version of [lowest!.version, process.versions.node]) {
        if (!semver.satisfies(version, range)) refusing.push(`${where}@${entry.version ?? '?'} wants node ${range}, not ${version}`);
      }
    }
    expect(refusing).toEqual([]);
  });
});
