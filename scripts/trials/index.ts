/**
 * The trials as a library: each takes its sizes, the shared evidence and a
 * seeded random source, and returns figures that must be 0 (and some that
 * are only informative). `npm run trials` runs them at full size
 * (scripts/trials.ts); `npm test` runs them small (test/trials/trials.test.ts).
 */
import { cleanupTemp, Evidence, type Figure, Figures, progress, requirePrerequisites, Rng } from './common';
import { faultTrial, type FaultSizes } from './faults';
import { fuzzTrial, type FuzzSizes } from './fuzz';
import { killTrial, type KillSizes } from './kill';
import { leakFigures } from './leaks';

export { killTrial, faultTrial, fuzzTrial, leakFigures, Evidence, Rng };
export type { Figure, KillSizes, FaultSizes, FuzzSizes };

/** Sizes of every trial. */
export interface TrialSizes {
  kill: KillSizes;
  faults: FaultSizes;
  fuzz: FuzzSizes;
}

/** `npm run trials`. */
export const FULL: TrialSizes = {
  kill: { clients: 100, trials: 30, localState: false },
  faults: { resources: 200, runs: 2 },
  fuzz: { configs: 10_000, requests: 10_000, postgres: true },
};

/** The short version in `npm test`. */
export const SHORT: TrialSizes = {
  kill: { clients: 10, trials: 2, localState: false },
  faults: { resources: 20, runs: 1 },
  fuzz: { configs: 300, requests: 300, postgres: true },
};

/** Everything a run produced. */
export interface TrialsResult {
  seed: number;
  figures: Figure[];
  notes: Array<{ trial: string; note: string }>;
  /** Required figures that are not 0. */
  failed: Figure[];
  ms: number;
}

/**
 * Runs the chosen trials (1 kill, 2 faults, 3 fuzz; 4 leaks always runs, over
 * what the others saw). A trial that throws is reported as a failed figure,
 * and the others still run.
 */
export async function runTrials(sizes: TrialSizes, opts: { seed: number; only?: ReadonlySet<number> }): Promise<TrialsResult> {
  const started = Date.now();
  const prereq = requirePrerequisites();
  progress(`${prereq.terraform}; seed ${opts.seed}`);
  const evidence = new Evidence();
  const all: Figures[] = [];
  const want = (n: number) => !opts.only || opts.only.has(n);
  const guard = async (name: string, n: number, fn: () => Promise<Figures>): Promise<void> => {
    if (!want(n)) return;
    const t0 = Date.now();
    progress(`trial ${name} starts`);
    try {
      all.push(await fn());
    } catch (err) {
      const f = new Figures(name);
      f.must('trial aborted', 1, err instanceof Error ? err.message.split('\n')[0] : String(err));
      f.notes.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
      all.push(f);
    }
    progress(`trial ${name} done in ${Math.round((Date.now() - t0) / 1000)} s`);
  };
  try {
    // Each trial its own random stream, so one trial's size does not change another's draws.
    await guard('1 kill -9', 1, () => killTrial(sizes.kill, evidence, new Rng(opts.seed)));
    await guard('2 faults', 2, () => faultTrial(sizes.faults, evidence, new Rng(opts.seed ^ 0x2222)));
    await guard('3 fuzz', 3, () => fuzzTrial(sizes.fuzz, evidence, opts.seed ^ 0x3333));
    all.push(leakFigures(evidence));
  } finally {
    cleanupTemp();
  }
  const figures = all.flatMap((f) => f.list);
  return {
    seed: opts.seed,
    figures,
    notes: all.flatMap((f) => f.notes.map((note) => ({ trial: f.trial, note }))),
    failed: figures.filter((x) => x.required && x.value !== 0),
    ms: Date.now() - started,
  };
}
