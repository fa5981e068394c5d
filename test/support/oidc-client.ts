/**
 * The jest side of the OIDC driver: `runOidc(request)` runs
 * test/support/oidc-driver.ts compiled (`node dist/test/support/oidc-driver.js`)
 * as a child process, since openid-client is ESM-only and jest 29 cannot load
 * it. One JSON request in, one JSON result out; the driver's standard error
 * (progress lines, never a secret) is kept for failure messages.
 *
 * Tests that use this are acceptance tests (they need dist/ and, for a
 * service, bin/appreg): list them in jest.config.js's ACCEPTANCE.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
// Types only: erased in the compiled test, so jest never loads openid-client.
import type { CodeFlowRequest, DeviceFlowRequest, OidcError, OidcRequest, OidcResult } from './oidc-driver';

export type {
  ApiAnswer,
  ClientAuthMethod,
  CodeFlowRequest,
  DeviceFlowRequest,
  OidcError,
  OidcPerson,
  OidcRequest,
  OidcResult,
  OidcStep,
  OidcStepResult,
  OidcWhere,
  TokenSummary,
} from './oidc-driver';
export type { ScreenKind } from '../../scripts/lib/person-agent';

const ROOT = path.resolve(__dirname, '../..');

/** The compiled driver. */
export const OIDC_DRIVER_JS = path.join(ROOT, 'dist', 'test', 'support', 'oidc-driver.js');

/** The sources the compiled driver is made of: when one is newer than its output, the driver is rebuilt. */
const DRIVER_PARTS: Array<[source: string, output: string]> = [
  ['test/support/oidc-driver.ts', 'dist/test/support/oidc-driver.js'],
  ['scripts/lib/person-agent.ts', 'dist/scripts/lib/person-agent.js'],
];

let building: Promise<void> | undefined;

/**
 * Compiles the project unless the driver's outputs are newer than its
 * sources (`npm test` compiles before jest, so there this is a no-op; it
 * matters when one test file is run on its own after an edit), as
 * appreg-cli.ts's ensureCliBuilt does for bin/. Once per jest worker.
 */
export function ensureOidcDriverBuilt(): Promise<void> {
  const fresh = DRIVER_PARTS.every(([src, out]) => {
    const o = path.join(ROOT, out);
    return fs.existsSync(o) && fs.statSync(o).mtimeMs >= fs.statSync(path.join(ROOT, src)).mtimeMs;
  });
  if (fresh) return Promise.resolve();
  building ??= new Promise<void>((resolve, reject) => {
    // Type errors elsewhere in the tree do not stop tsc from emitting; a missing or stale output does fail.
    execFile('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, timeout: 240_000 }, (_err, stdout) => {
      building = undefined;
      const stale = DRIVER_PARTS.filter(([src, out]) => {
        const o = path.join(ROOT, out);
        return !fs.existsSync(o) || fs.statSync(o).mtimeMs < fs.statSync(path.join(ROOT, src)).mtimeMs;
      });
      if (stale.length === 0) resolve();
      else reject(new Error(`tsc did not produce ${stale.map(([, o]) => o).join(', ')}:\n${stdout.slice(0, 4000)}`));
    });
  });
  return building;
}

/** A driver run: its result and what it wrote on standard error. */
export type OidcRun = OidcResult & {
  /** The driver's progress lines (no secrets), for failure messages. */
  stderr: string;
};

/** Options of {@link runOidc}. */
export interface RunOidcOptions {
  /**
   * Milliseconds before the driver is killed; default the request's
   * timeout_ms (default 60000) plus 15 s, so the driver reports its own
   * timeout first when it can.
   */
  timeoutMs?: number;
  /** Extra environment for the driver. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs one OIDC flow in the driver and resolves with its result (a failed
 * sign-in is a result with `ok: false`, not a rejection). Rejects only when
 * the driver itself breaks (no JSON result, killed by the timeout), with its
 * standard error in the message.
 */
export async function runOidc(request: OidcRequest, opts: RunOidcOptions = {}): Promise<OidcRun> {
  await ensureOidcDriverBuilt();
  const timeoutMs = opts.timeoutMs ?? (request.timeout_ms ?? 60_000) + 15_000;
  return new Promise<OidcRun>((resolve, reject) => {
    const child = spawn(process.execPath, [OIDC_DRIVER_JS], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`could not start the OIDC driver (${OIDC_DRIVER_JS}): ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      let result: OidcResult | undefined;
      try {
        result = JSON.parse(line) as OidcResult;
      } catch {
        result = undefined;
      }
      if (!result || typeof result.ok !== 'boolean') {
        const why = killed ? `was killed after ${timeoutMs} ms` : `exited with ${code ?? signal} without a JSON result`;
        reject(new Error(`the OIDC driver ${why} (${describeRequest(request)})\n--- driver stderr ---\n${tail(stderr)}\n--- driver stdout ---\n${tail(stdout)}`));
        return;
      }
      resolve({ ...result, stderr });
    });
    child.stdin.end(JSON.stringify(request));
  });
}

/** The request in one line for messages: flow, client, person; never the secret or password. */
export function describeRequest(r: OidcRequest): string {
  return `${r.flow} flow, client ${r.client_id} (${r.auth}), ${r.person.username}${r.flow === 'code' ? `, pkce ${r.pkce}, redirect_uri ${r.redirect_uri}` : ''}, scope "${r.scope}"`;
}

/** A failure in words: the error, where, its description, and the page text when the person ended on a page. */
export function describeFailure(e: OidcError): string {
  const lines = [`${e.error} at ${e.where}${e.status !== undefined ? ` (HTTP ${e.status})` : ''}${e.error_description ? `: ${e.error_description}` : ''}`];
  if (e.page) lines.push(`page ${e.page.status} ${e.page.url} "${e.page.title}":\n${e.page.text}`);
  return lines.join('\n');
}

/** The last `max` characters of a log. */
function tail(s: string, max = 6000): string {
  return s.length <= max ? s : `…${s.slice(-max)}`;
}

/**
 * The run, which must have succeeded: otherwise an error saying what
 * failed, where, and the driver's progress lines (what the person saw and did).
 */
export function expectOidcOk(run: OidcRun): OidcRun {
  if (run.ok) return run;
  throw new Error(`OIDC run failed: ${run.error ? describeFailure(run.error) : '(no error reported)'}\n--- driver stderr ---\n${tail(run.stderr)}`);
}

/**
 * The run's failure, which must be `error` at `where` (a refusal test):
 * otherwise an error showing what happened instead.
 */
export function expectOidcError(run: OidcRun, error: string, where?: OidcError['where']): OidcError {
  const e = run.error;
  if (!run.ok && e && e.error === error && (where === undefined || e.where === where)) return e;
  const got = run.ok ? 'it succeeded' : e ? describeFailure(e) : 'it failed without an error';
  throw new Error(`expected ${error}${where ? ` at ${where}` : ''}, but ${got}\n--- driver stderr ---\n${tail(run.stderr)}`);
}

/** A code-flow request with the usual defaults (S256, client_secret_basic when there is a secret, "openid" scope, consent allow). */
export function codeRequest(
  r: Pick<CodeFlowRequest, 'issuer' | 'client_id' | 'redirect_uri' | 'person'> & Partial<CodeFlowRequest>,
): CodeFlowRequest {
  return { flow: 'code', pkce: 'S256', scope: 'openid', auth: r.client_secret !== undefined ? 'basic' : 'none', ...r };
}

/** A device-flow request with the usual defaults (client_secret_basic when there is a secret, "openid" scope). */
export function deviceRequest(r: Pick<DeviceFlowRequest, 'issuer' | 'client_id' | 'person'> & Partial<DeviceFlowRequest>): DeviceFlowRequest {
  return { flow: 'device', scope: 'openid', auth: r.client_secret !== undefined ? 'basic' : 'none', ...r };
}
