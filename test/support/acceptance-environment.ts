/**
 * The jest test environment of the acceptance project: Node's, plus the
 * registry of Terraform trace logs (see trace-logs.ts), told by jest-circus
 * which tests and hooks failed so that only their logs are kept.
 */
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';
import { TRACE_LOGS_KEY, TraceLogs } from './trace-logs';

export default class AcceptanceEnvironment extends TestEnvironment {
  private readonly traceLogs = new TraceLogs((line) => process.stderr.write(`\n${line}\n`));

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.global[TRACE_LOGS_KEY] = this.traceLogs;
  }

  handleTestEvent(event: Circus.Event): void {
    if (event.name === 'hook_failure' || (event.name === 'test_done' && event.test.errors.length > 0)) this.traceLogs.failed();
    if (event.name === 'test_done') this.traceLogs.settleDisposed();
  }

  override async teardown(): Promise<void> {
    this.traceLogs.settleAll();
    await super.teardown();
  }
}
