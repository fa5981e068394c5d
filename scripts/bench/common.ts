/**
 * What every part of `npm run bench` shares: the repository root, medians,
 * progress lines, and the clean-up of child processes and temporary folders,
 * which also runs on Ctrl-C, SIGTERM and failure.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { descendants } from './watch';

/** The repository root (this file runs from `dist/scripts/bench/`). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Milliseconds since `start` (from `process.hrtime.bigint()`). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A progress line on stderr; stdout holds only the report. */
export function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

type Cleanup = () => void | Promise<void>;

const cleanups: Cleanup[] = [];
const children = new Set<ChildProcess>();

let stopping = false;

/** True once clean-up began (Ctrl-C, SIGTERM, the end): nothing new may start. */
export function isStopping(): boolean {
  return stopping;
}

/** Registers a clean-up; they run last first, once, from {@link cleanUp}. */
export function onCleanup(fn: Cleanup): void {
  cleanups.push(fn);
}

/** A new temporary folder, removed at clean-up. */
export function tempDir(prefix: string): string {
  if (stopping) throw new Error('not making a temporary folder: the bench is stopping');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `appreg-bench-${prefix}-`));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Stops a child: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Spawns a child that clean-up stops if it still runs then. */
export function spawnTracked(cmd: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  // After a signal the interrupted part may go on for a moment: it must not start what no one would stop.
  if (stopping) throw new Error(`not starting ${path.basename(cmd)}: the bench is stopping`);
  const child = spawn(cmd, [...args], opts);
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
  return child;
}

/** The outcome of {@link runTimed}. */
export interface TimedRun {
  code: number;
  ms: number;
  stdout: string;
  stderr: string;
  /** The process id, for watching it while it runs. */
  pid: number;
}

/**
 * Runs a program to its end with stdin closed and its output captured,
 * timing from spawn to exit. `onStart` learns the pid at once.
 */
export function runTimed(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; onStart?: (pid: number) => void } = {},
): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawnTracked(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    if (child.pid !== undefined) opts.onStart?.(child.pid);
    child.on('exit', () => {
      // Timed at exit, not when the pipes close: a provider child Terraform left behind could hold them a little longer.
      const ms = msSince(start);
      child.on('close', (code) => resolve({ code: code ?? -1, ms, stdout, stderr, pid: child.pid ?? -1 }));
    });
  });
}

let cleaning: Promise<void> | undefined;

/** Stops every tracked child and runs the clean-ups, last registered first. Safe to call twice. */
export function cleanUp(): Promise<void> {
  stopping = true;
  cleaning ??= (async () => {
    // The children's own children too (the providers of a Terraform stopped mid-run), should they outlive their parent.
    const strays = [...children].flatMap((c) => (c.pid !== undefined ? descendants(c.pid) : []));
    await Promise.all([...children].map((c) => stopChild(c, 3000)));
    for (const pid of strays) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already, as it should be
      }
    }
    // Taken one by one, so that one registered meanwhile (a part finishing its start) runs too.
    for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) {
      try {
        await fn();
      } catch (e) {
        progress(`clean-up step failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  })();
  return cleaning;
}

/** On SIGINT or SIGTERM: clean up, then exit 130 or 143. */
export function cleanUpOnSignals(): void {
  const handler = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping the processes and removing the temporary folders`);
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
