/**
 * The workflow runner the GitOps tests rely on: its expressions must mean
 * what they mean on GitHub, or the workflow tests prove nothing.
 */
import { evaluate, interpolate, parseCommandFile, type ExpressionContext } from '../support/actions';

const ctx = (over: Partial<ExpressionContext> = {}): ExpressionContext => ({
  github: { event_name: 'pull_request', event: { pull_request: { number: 7 } } },
  vars: { APPREG_STACK: 'billing' },
  secrets: {},
  env: {},
  runner: { temp: '/tmp/r' },
  steps: { plan: { outputs: { changes: 'true', summary: '' }, outcome: 'success', conclusion: 'success' } },
  jobFailed: false,
  ...over,
});

describe('workflow expressions', () => {
  it('|| gives the first truthy operand, so a missing variable falls back to the default', () => {
    expect(evaluate("vars.APPREG_STACK || 'organization-app'", ctx())).toBe('billing');
    expect(evaluate("vars.NOPE || 'organization-app'", ctx())).toBe('organization-app');
  });

  it('compares strings without regard to case, and reads nested contexts', () => {
    expect(evaluate("steps.plan.outputs.changes == 'TRUE'", ctx())).toBe(true);
    expect(evaluate("steps.plan.outputs.summary != ''", ctx())).toBe(false);
    expect(evaluate('github.event.pull_request.number', ctx())).toBe(7);
    expect(evaluate('!(github.event_name == \'push\') && steps.missing.outputs.x == null', ctx())).toBe(true);
  });

  it('status functions follow the job', () => {
    expect(evaluate('success()', ctx())).toBe(true);
    expect(evaluate('failure()', ctx({ jobFailed: true }))).toBe(true);
    expect(evaluate('always()', ctx({ jobFailed: true }))).toBe(true);
  });

  it('refuses what it does not support, rather than guessing', () => {
    expect(() => evaluate("hashFiles('**/package-lock.json')", ctx())).toThrow(/not supported/);
    expect(() => evaluate('matrix.os', ctx())).toThrow(/unknown context matrix/);
    expect(() => evaluate("vars.A 'b'", ctx())).toThrow(/unexpected/);
  });

  it('interpolates every ${{ }} of a string', () => {
    expect(interpolate('cdktf.out/stacks/${{ vars.APPREG_STACK }}/${{ runner.temp }}', ctx())).toBe('cdktf.out/stacks/billing//tmp/r');
  });
});

describe('GITHUB_OUTPUT and GITHUB_ENV files', () => {
  it('reads name=value lines and multi-line heredoc blocks', () => {
    expect(parseCommandFile('changes=true\nsummary=/tmp/a=b.md\nbody<<EOF\nline 1\nline 2\nEOF\n')).toEqual({
      changes: 'true',
      summary: '/tmp/a=b.md',
      body: 'line 1\nline 2',
    });
  });
});
