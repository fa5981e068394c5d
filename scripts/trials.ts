/**
 * `npm run trials`: the trials at full size, like a benchmark that judges.
 * Prints a table of figures; every required figure must be 0, and the exit
 * status is 1 when one is not. Progress goes to stderr.
 *
 *   node dist/scripts/trials.js [--short] [--only 1,2,3] [--seed N]
 *
 * --short runs the sizes of the jest version; --set kill.trials=5 changes one size; --only picks trials (4, the
 * leak search, always runs over what the chosen ones saw); --seed (or
 * APPREG_TRIALS_SEED) repeats a run's random choices. APPREG_TRIALS_ROOT
 * runs the trials against another built checkout; APPREG_TRIALS_KEEP keeps
 * the temporary folders.
 */
import { FULL, runTrials, SHORT } from './trials/index';
import { seedFromEnv, table } from './trials/common';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let sizes = FULL;
  let seed = seedFromEnv();
  let only: Set<number> | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--short') sizes = SHORT;
    else if (a === '--seed') seed = Number(argv[++i]) >>> 0;
    else if (a === '--only') only = new Set(String(argv[++i]).split(',').map(Number));
    else if (a === '--set') {
      // e.g. --set kill.trials=5 (after --short, if both are given)
      const m = /^(kill|faults|fuzz)\.(\w+)=(.+)$/.exec(String(argv[++i]));
      if (!m) throw new Error('--set takes trial.size=value, e.g. kill.trials=5');
      const group = { ...(sizes[m[1] as keyof typeof sizes] as unknown as Record<string, unknown>) };
      if (!(m[2]! in group)) throw new Error(`no size ${m[2]} in ${m[1]}: ${Object.keys(group).join(', ')}`);
      group[m[2]!] = m[3] === 'true' ? true : m[3] === 'false' ? false : Number(m[3]);
      sizes = { ...sizes, [m[1]!]: group };
    }
    else {
      process.stderr.write(`unknown argument ${a}\nusage: trials [--short] [--only 1,2,3] [--seed N] [--set trial.size=value]\n`);
      return 2;
    }
  }
  const r = await runTrials(sizes, { seed, ...(only ? { only } : {}) });
  process.stdout.write(`\nappreg trials (seed ${r.seed}, ${Math.round(r.ms / 1000)} s)\n\n${table(r.figures)}\n`);
  if (r.notes.length > 0) {
    process.stdout.write('\nNotes:\n');
    for (const n of r.notes.slice(0, 60)) process.stdout.write(`- [${n.trial}] ${n.note.split('\n').slice(0, 8).join('\n    ')}\n`);
    if (r.notes.length > 60) process.stdout.write(`- … ${r.notes.length - 60} more\n`);
  }
  process.stdout.write(r.failed.length === 0 ? '\nAll required figures are 0.\n' : `\n${r.failed.length} required figure(s) not 0.\n`);
  return r.failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`trials: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
