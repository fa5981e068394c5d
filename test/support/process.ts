/**
 * Runs a program the way the tests need it: output captured, never
 * throwing on a non-zero exit (the exit code is what many tests assert).
 */
import { spawn } from 'node:child_process';

/** What a program printed, and how it exited. */
export interface ProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` with stdin closed; rejects only when the program cannot be started. */
export function runProcess(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
