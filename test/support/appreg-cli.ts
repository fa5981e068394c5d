/**
 * `bin/appreg` as an operator runs it, for the tests of the command line:
 * a child process in the checkout, its exit code, stdout and stderr.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** The command line's entry point in this checkout. */
export const APPREG_BIN = path.join(ROOT, 'bin/appreg');

/** One finished `appreg` run. */
export interface AppregRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Newest modification time of the .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Compiles the project unless dist is newer than every source file the
 * command line runs (`npm test` compiles before jest, so there this is a
 * no-op; it matters when one test file is run on its own after an edit).
 */
export function ensureCliBuilt(): Promise<void> {
  const main = path.join(ROOT, 'dist/src/cli/main.js');
  const server = path.join(ROOT, 'dist/src/server/index.js');
  const sources = newestSource(path.join(ROOT, 'src'));
  if ([main, server].every((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs >= sources)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    // Type errors elsewhere in the tree do not stop tsc from emitting; a missing output does fail.
    execFile('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, timeout: 240_000 }, () => {
      if (!fs.existsSync(main)) return reject(new Error('tsc did not produce dist/src/cli/main.js'));
      // An incremental build leaves unchanged outputs alone, so their times would stay older than
      // the edited source and every later call would build again: mark them as built now.
      const at = new Date();
      for (const f of [main, server]) if (fs.existsSync(f)) fs.utimesSync(f, at, at);
      resolve();
    });
  });
}

/**
 * Runs `bin/appreg <args>` in the checkout and resolves with how it ended (never rejects).
 * `input` is written to its standard input, which is then closed (closed at once without it).
 */
export function runAppreg(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<AppregRun> {
  return new Promise((resolve) => {
    const child = execFile(APPREG_BIN, args, { cwd: ROOT, timeout: 60_000, ...(opts.env ? { env: opts.env } : {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? '');
  });
}
