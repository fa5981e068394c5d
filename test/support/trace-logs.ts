/**
 * Terraform's trace logs (TF_LOG=trace) are big and only worth reading when a
 * test failed. Every {@link TerraformWorkspace} writes one, since tests search
 * it for secrets; this registry decides what happens to it afterwards:
 *
 * - a workspace disposed while no test failed is removed, log and all;
 * - a workspace left undisposed by passing tests loses its log when the test
 *   file ends;
 * - a workspace that was alive (or disposed but not yet removed) when a test
 *   or hook failed is kept, and the path of its log is printed.
 *
 * The acceptance project's test environment (acceptance-environment.ts) owns
 * the registry, learns from jest-circus which tests failed, and puts it on the
 * test files' global object under {@link TRACE_LOGS_KEY}, where terraform.ts
 * finds it. Without that environment (a unit test, a script) nothing registers
 * and a workspace removes itself on dispose, as before.
 */
import * as fs from 'node:fs';

/** The property of the test files' global object holding the registry. */
export const TRACE_LOGS_KEY = '__appregTraceLogs';

/** What terraform.ts sees of the registry. */
export interface TraceLogRegistry {
  /** A new workspace in `dir`, whose trace log goes to `logPath`. */
  add(dir: string, logPath: string): void;
  /** The test is done with `dir`: remove it when it is known that no test failed. */
  dispose(dir: string): void;
}

interface Entry {
  dir: string;
  logPath: string;
  disposed: boolean;
  failed: boolean;
}

/** The registry of one test file. */
export class TraceLogs implements TraceLogRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly report: (line: string) => void) {}

  add(dir: string, logPath: string): void {
    this.entries.set(dir, { dir, logPath, disposed: false, failed: false });
  }

  dispose(dir: string): void {
    const e = this.entries.get(dir);
    if (e) e.disposed = true;
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  /** A test or hook failed: every workspace in use is evidence now. */
  failed(): void {
    for (const e of this.entries.values()) e.failed = true;
  }

  /** After each test: removes or keeps the workspaces disposed so far. */
  settleDisposed(): void {
    for (const e of [...this.entries.values()]) if (e.disposed) this.settle(e);
  }

  /** At the end of the test file: settles every workspace. */
  settleAll(): void {
    for (const e of [...this.entries.values()]) this.settle(e);
  }

  private settle(e: Entry): void {
    this.entries.delete(e.dir);
    if (e.failed) {
      const log = fs.existsSync(e.logPath) ? `Terraform trace log kept: ${e.logPath}` : `no trace log (TF_LOG was off)`;
      this.report(`appreg tests: a test failed while this Terraform workspace was in use; ${log} (workspace ${e.dir})`);
    } else if (e.disposed) {
      fs.rmSync(e.dir, { recursive: true, force: true });
    } else {
      fs.rmSync(e.logPath, { force: true });
    }
  }
}
