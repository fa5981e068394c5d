/**
 * `appreg provider install` in a mirror someone else may have written to:
 * symbolic links planted at the old predictable temporary name, at the target
 * and at a directory of the mirror path never make it write outside the
 * mirror; concurrent installs all succeed and leave one complete executable.
 *
 * The compiled module is used (as bin/appreg does): the script it writes
 * points at this checkout's dist/, which it finds relative to itself.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as Install from '../../src/cli/provider-install';
import { runProcess } from '../support/process';
import { REPO_ROOT, requireBuiltProvider } from '../support/terraform';

jest.setTimeout(120_000);

const COMPILED = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'provider-install.js');
const ENTRY = path.join(REPO_ROOT, 'dist', 'src', 'provider', 'main.js');
const load = (): typeof Install => require(COMPILED) as typeof Install;

const OUTSIDE = 'outside the mirror: must never change\n';

let work: string;
let mirror: string;
let outside: string;

beforeAll(() => requireBuiltProvider());

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-install-'));
  mirror = path.join(work, 'mirror');
  outside = path.join(work, 'outside');
  fs.mkdirSync(outside);
});

afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** Checks that `p` is a regular executable file holding a complete provider script. */
function expectInstalled(p: string): void {
  const st = fs.lstatSync(p);
  expect(st.isFile()).toBe(true);
  expect(st.mode & 0o777).toBe(0o755);
  const text = fs.readFileSync(p, 'utf8');
  expect(text.startsWith('#!/bin/sh\n')).toBe(true);
  expect(text).toContain(`'${ENTRY}' "$@"\n`);
  expect(text.split('\n')).toHaveLength(4);
}

describe('appreg provider install', () => {
  it('installs a regular executable file and leaves nothing else in its directory, whatever the umask', () => {
    const old = process.umask(0o077);
    let target: string;
    try {
      target = load().installProvider(mirror);
    } finally {
      process.umask(old);
    }
    expect(target).toBe(load().mirrorExecutablePath(mirror));
    expectInstalled(target);
    expect(fs.readdirSync(path.dirname(target))).toEqual([path.basename(target)]);
    // A second install replaces the first in place.
    expect(load().installProvider(mirror)).toBe(target);
    expectInstalled(target);
    expect(fs.readdirSync(path.dirname(target))).toEqual([path.basename(target)]);
  });

  it('never writes through a symbolic link planted at the old temporary name or at the target', () => {
    const { installProvider, mirrorExecutablePath } = load();
    const target = mirrorExecutablePath(path.resolve(mirror));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const victimTmp = path.join(outside, 'victim-tmp');
    const victimTarget = path.join(outside, 'victim-target');
    fs.writeFileSync(victimTmp, OUTSIDE, { mode: 0o644 });
    fs.writeFileSync(victimTarget, OUTSIDE, { mode: 0o644 });
    // The name the old install wrote through, predictable from the pid.
    const predictable = `${target}.tmp-${process.pid}`;
    fs.symlinkSync(victimTmp, predictable);
    fs.symlinkSync(victimTarget, target);

    expect(installProvider(mirror)).toBe(target);

    expect(fs.readFileSync(victimTmp, 'utf8')).toBe(OUTSIDE);
    expect(fs.readFileSync(victimTarget, 'utf8')).toBe(OUTSIDE);
    expect(fs.statSync(victimTmp).mode & 0o777).toBe(0o644);
    expect(fs.statSync(victimTarget).mode & 0o777).toBe(0o644);
    // The link at the target was replaced by the file, not followed.
    expectInstalled(target);
    // The planted link at the old name is left alone (it is not the install's to remove).
    expect(fs.readlinkSync(predictable)).toBe(victimTmp);
  });

  it('refuses, naming the path, when a directory of the mirror path is a symbolic link leading out of the mirror', () => {
    const { installProvider, mirrorExecutablePath } = load();
    const target = mirrorExecutablePath(path.resolve(mirror));
    const rel = path.relative(mirror, path.dirname(target)).split(path.sep);
    // At each depth: registry.terraform.io, appreg, appreg, <version>, <platform>.
    for (let depth = 1; depth <= rel.length; depth++) {
      fs.rmSync(mirror, { recursive: true, force: true });
      fs.rmSync(outside, { recursive: true, force: true });
      fs.mkdirSync(outside);
      const link = path.join(mirror, ...rel.slice(0, depth));
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(outside, link);
      let message = '';
      try {
        installProvider(mirror);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(`${link} is a symbolic link to ${fs.realpathSync(outside)}, outside the mirror`);
      expect(fs.readdirSync(outside)).toEqual([]);
    }
  });

  it('follows a symbolic link inside the mirror, and the mirror directory itself may be a link', () => {
    const { installProvider, mirrorExecutablePath } = load();
    const realMirror = path.join(work, 'real-mirror');
    fs.mkdirSync(realMirror);
    fs.symlinkSync(realMirror, mirror);
    const target = mirrorExecutablePath(path.resolve(mirror));
    const versionDir = path.dirname(path.dirname(target));
    fs.mkdirSync(path.join(realMirror, 'shared-version'), { recursive: true });
    fs.mkdirSync(path.dirname(versionDir), { recursive: true });
    fs.symlinkSync(path.join(realMirror, 'shared-version'), versionDir);
    expect(installProvider(mirror)).toBe(target);
    expectInstalled(path.join(realMirror, 'shared-version', path.basename(path.dirname(target)), path.basename(target)));
  });

  it('refuses a directory at the target or a file where a directory belongs', () => {
    const { installProvider, mirrorExecutablePath } = load();
    const target = mirrorExecutablePath(path.resolve(mirror));
    fs.mkdirSync(target, { recursive: true });
    expect(() => installProvider(mirror)).toThrow(`${target} is a directory`);
    fs.rmSync(mirror, { recursive: true });
    fs.mkdirSync(path.dirname(path.dirname(target)), { recursive: true });
    fs.writeFileSync(path.dirname(target), 'not a directory');
    expect(() => installProvider(mirror)).toThrow(`${path.dirname(target)} exists and is not a directory`);
  });

  it('lets concurrent installs (separate processes) all succeed, leaving one complete executable', async () => {
    const runs = await Promise.all(
      Array.from({ length: 6 }, () => runProcess(path.join(REPO_ROOT, 'bin', 'appreg'), ['provider', 'install', '--dir', mirror])),
    );
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ path: load().mirrorExecutablePath(mirror), source: 'appreg/appreg' });
    }
    const target = load().mirrorExecutablePath(mirror);
    expectInstalled(target);
    expect(fs.readdirSync(path.dirname(target))).toEqual([path.basename(target)]);
  });

  it('lets concurrent installs in one process (worker threads share the pid) all succeed', async () => {
    const rounds = 150;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { installProvider } = require(workerData.compiled);
      let failures = [];
      for (let i = 0; i < workerData.rounds; i++) {
        try { installProvider(workerData.mirror); } catch (e) { failures.push(e.message); }
      }
      parentPort.postMessage(failures);
    `;
    const results = await Promise.all(
      [0, 1].map(() => new Promise<string[]>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { compiled: COMPILED, mirror, rounds } });
        w.once('message', resolve);
        w.once('error', reject);
      })),
    );
    expect(results).toEqual([[], []]);
    const target = load().mirrorExecutablePath(mirror);
    expectInstalled(target);
    expect(fs.readdirSync(path.dirname(target))).toEqual([path.basename(target)]);
  });

  it('installs a provider that starts: it answers as a Terraform plugin', async () => {
    const target = load().installProvider(mirror);
    // Without Terraform's magic cookie a go-plugin style provider says it is a plugin and exits non-zero.
    const child = spawn(target, [], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TF_PLUGIN_MAGIC_COOKIE: '' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).not.toBe(0);
    expect(out).toMatch(/plugin/i);
  });
});
