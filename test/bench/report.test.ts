/**
 * `npm run bench` is a benchmark, not a test, so its measurements are not
 * run here; what is checked is what turns them into the printed verdicts:
 * the command line, each goal and whether it is met, and the table. (An
 * acceptance test only because the bench's modules can start PostgreSQL;
 * nothing here does.)
 */
import { benchRows, parseBenchArgs, type BenchResults } from '../../scripts/bench';
import { formatReport } from '../../scripts/bench/report';

const reads = (rps: number) => ({ rps, p50Ms: 1, p99Ms: 3, requests: rps * 2, non2xx: 0, errors: 0 });

const RESULTS: BenchResults = {
  plan: { n: 1000, appregMs: [5400, 5500, 5450], baselineMs: [2200, 2300, 2250], small: 5, smallAppregMs: [1200, 1210, 1220, 1190, 1230], smallBaselineMs: [140, 130, 150, 140, 135] },
  requests: { n: 1000, total: 15, byRoute: { 'GET /v1/apps': 15 }, planMs: 5700, counter: 'a counting proxy' },
  apply: { n: 1000, appregMs: 26_000, baselineMs: 20_000 },
  startup: { providerMs: 120, baselineMs: 100, runs: 15 },
  rss: { n: 1000, maxKib: 128 * 1024 } as BenchResults['rss'],
  service: [{ route: 'GET /v1/apps/{id}', sqlite: reads(5000), postgres: reads(4998), baseline: reads(9998) }],
};

describe('npm run bench: verdicts and report', () => {
  it('judges each figure against its goal: ratios of same-run baselines, N/100 + 5 requests', () => {
    const byWork = Object.fromEntries(benchRows(RESULTS).map((r) => [r.work, r]));
    expect(byWork['no-change plan, 1000 clients (median of 3)']).toMatchObject({ ratio: 5450 / 2250, goal: '<= 1.3', met: false });
    expect(byWork['no-change plan, 5 clients (median of 5)']!.ratio).toBeCloseTo(1210 / 140);
    // Exactly at the goal counts as met, one over does not.
    expect(byWork['requests to the service, plan of 1000']).toMatchObject({ appreg: '15', goal: '<= 15', met: true });
    expect(benchRows({ requests: { ...RESULTS.requests!, total: 16 } })[0]!.met).toBe(false);
    expect(byWork['apply creating 1000 clients']).toMatchObject({ ratio: 1.3, met: true });
    expect(byWork['provider start-up (median of 15)']).toMatchObject({ ratio: 1.2, met: true });
    expect(byWork['provider peak RSS, plan of 1000']).toMatchObject({ appreg: '128.0 MiB', goal: '-' });
    expect(byWork['provider peak RSS, plan of 1000']!.met).toBeUndefined();
    expect(byWork['GET /v1/apps/{id}, SQLite (req/s)']).toMatchObject({ met: true });
    expect(byWork['GET /v1/apps/{id}, PostgreSQL (req/s)']).toMatchObject({ met: false });
  });

  it('prints a table with one line per figure, the details, and what could not be measured', () => {
    const text = formatReport({ title: 'appreg bench', rows: benchRows(RESULTS), details: ['plan 1000: …'], failures: [{ part: 'apply', error: 'terraform exited 1\nsecond line' }] });
    const lines = text.split('\n');
    expect(lines[0]).toBe('appreg bench');
    expect(lines[2]).toMatch(/^\| work +\| +appreg \| baseline \| ratio \| +goal \| met\? \|$/);
    expect(lines.filter((l) => l.startsWith('| ')).length).toBe(1 + benchRows(RESULTS).length);
    expect(text).toContain('| NO ');
    expect(text).toContain('- plan 1000: …');
    expect(text).toMatch(/Not measured:\n- apply: terraform exited 1\n {4}second line/);
  });

  it('reads its options and refuses what it does not know, with the usage', () => {
    expect(parseBenchArgs([])).toMatchObject({ n: 1000, postgres: true, readSeconds: 2 });
    const a = parseBenchArgs(['--only', 'plan,service', '--n', '50', '--no-postgres', '--provider', 'bin/terraform-provider-appreg']);
    expect([...a.only]).toEqual(['plan', 'service']);
    expect(a).toMatchObject({ n: 50, postgres: false, provider: 'bin/terraform-provider-appreg' });
    expect(() => parseBenchArgs(['--only', 'plan,speed'])).toThrow(/--only takes some of plan,apply,startup,rss,service[\s\S]*usage:/);
    expect(() => parseBenchArgs(['--n', '0'])).toThrow(/--n must be a whole number/);
    expect(() => parseBenchArgs(['--json'])).toThrow(/--json needs a value/);
    expect(() => parseBenchArgs(['--fast'])).toThrow(/unknown argument --fast/);
  });
});
