/**
 * Running the `terraform` binary from the CLI commands. Terraform is the
 * engine: `appreg drift` and `appreg plan-summary` only read what it reports.
 */
import { spawn } from 'node:child_process';

/** What one Terraform command printed, and how it exited. */
export interface TerraformRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin args` in `cwd`, never prompting (a pipeline has no one to answer)
 * and never throwing on a non-zero exit; rejects only when the executable
 * cannot be started, naming it.
 */
export function runTerraform(bin: string, args: readonly string[], cwd: string): Promise<TerraformRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], { cwd, env: { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => reject(new Error(`could not run ${bin}: ${e.message}`)));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
