/**
 * The short version of `npm run trials` (scripts/trials.ts): every trial at
 * a small size, against real Terraform, the real provider and a real service
 * on 127.0.0.1. Every required figure must be 0; the table is printed when
 * one is not, with the notes that say why.
 *
 * Trials run in order in one test each; the leak search (trial 4) runs last,
 * over everything the others saw.
 */
import { Evidence, faultTrial, fuzzTrial, killTrial, leakFigures, Rng, SHORT } from '../../scripts/trials/index';
import { cleanupTemp, type Figures, requirePrerequisites, seedFromEnv, setQuiet, table } from '../../scripts/trials/common';

jest.setTimeout(240_000);

const seed = seedFromEnv();
const evidence = new Evidence();

/** Fails with the table and notes when a required figure is not 0. */
function expectZero(f: Figures): void {
  const failed = f.list.filter((x) => x.required && x.value !== 0);
  if (failed.length > 0) {
    throw new Error(`seed ${seed} (rerun with APPREG_TRIALS_SEED=${seed})\n${table(f.list)}\n\n${f.notes.map((n) => `- ${n}`).join('\n')}`);
  }
  expect(failed).toEqual([]);
}

beforeAll(() => {
  setQuiet(!process.env.APPREG_TRIALS_VERBOSE);
  requirePrerequisites();
});

afterAll(() => cleanupTemp());

describe('trials (short)', () => {
  it('1: kill -9 of Terraform mid-apply, then a normal apply, leaves no duplicate, orphan or lost secret', async () => {
    expectZero(await killTrial(SHORT.kill, evidence, new Rng(seed)));
  });

  it('2: an apply through a proxy failing 20% of requests converges without duplicates', async () => {
    expectZero(await faultTrial(SHORT.faults, evidence, new Rng(seed ^ 0x2222)));
  });

  it('3: random configurations and HTTP requests cause no crash, 5xx, path-less rejection or write', async () => {
    expectZero(await fuzzTrial(SHORT.fuzz, evidence, seed ^ 0x3333));
  });

  it('4: no secret or token in logs, outputs, audit rows or database files', () => {
    const f = leakFigures(evidence);
    expect(evidence.secrets.size).toBeGreaterThan(10);
    expectZero(f);
  });
});
