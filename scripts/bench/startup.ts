/**
 * Provider start-up, measured by scripts/bench-startup.ts: the median time
 * from spawn to the handshake line, and a bare `node -e ""` start in the
 * same run as the baseline. When that script exports a measuring function
 * (`measureStartup`) it is called; otherwise the script is run and its table
 * parsed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, runTimed } from './common';

/** Start-up medians, in ms. */
export interface StartupFigures {
  providerMs: number;
  baselineMs: number;
  runs: number;
  /** How they were measured: `measureStartup()` or the script's output. */
  via: string;
}

const SCRIPT = path.join(ROOT, 'dist', 'scripts', 'bench-startup.js');

/** Measures `executable`'s start-up against `node -e ""`, `runs` times each. */
export async function benchStartup(executable: string, runs: number): Promise<StartupFigures> {
  const source = fs.readFileSync(SCRIPT, 'utf8');
  // Loading the script runs its command line unless it guards it: only then is it loaded.
  if (/exports\.measureStartup\s*=/.test(source) && /require\.main\s*===\s*module/.test(source)) {
    const mod = require(SCRIPT) as { measureStartup: (o: { executables: string[]; runs: number }) => Promise<unknown> };
    const result = await mod.measureStartup({ executables: [executable], runs });
    const figures = fromResult(result, executable);
    if (figures) return { ...figures, runs, via: 'measureStartup() of scripts/bench-startup.ts' };
    // An answer of a shape not known here: fall back to the command line, which is known.
  }
  const r = await runTimed(process.execPath, [SCRIPT, '--runs', String(runs), executable]);
  if (r.code !== 0) throw new Error(`bench-startup.js exited ${r.code}:\n${r.stderr}`);
  return { ...parseTable(r.stdout, executable), runs, via: 'node dist/scripts/bench-startup.js (output parsed)' };
}

/**
 * Reads the medians from `measureStartup`'s answer when it has one of the
 * likely shapes: rows `{ name, median }` (an array, or under `rows`), the
 * baseline's row named like `baseline…`, or `{ baseline, results }`.
 */
function fromResult(result: unknown, executable: string): { providerMs: number; baselineMs: number } | undefined {
  const obj = result as Record<string, unknown> | undefined;
  const rows = (Array.isArray(result) ? result : Array.isArray(obj?.rows) ? obj.rows : Array.isArray(obj?.results) ? obj.results : undefined) as
    | Array<Record<string, unknown>>
    | undefined;
  if (!rows) return undefined;
  const medianOf = (r: Record<string, unknown> | undefined): number | undefined => {
    const m = r?.median ?? r?.medianMs;
    return typeof m === 'number' ? m : undefined;
  };
  const nameOf = (r: Record<string, unknown>): string => String(r.name ?? r.executable ?? r.label ?? '');
  const baselineRow = rows.find((r) => /baseline|node -e/.test(nameOf(r)));
  const providerRow = rows.find((r) => r !== baselineRow && (nameOf(r) === executable || path.resolve(ROOT, nameOf(r)) === executable)) ??
    rows.find((r) => r !== baselineRow);
  const baseline = medianOf(baselineRow) ?? (typeof obj?.baseline === 'number' ? obj.baseline : medianOf(obj?.baseline as Record<string, unknown>));
  const provider = medianOf(providerRow);
  return baseline !== undefined && provider !== undefined ? { providerMs: provider, baselineMs: baseline } : undefined;
}

/** Reads the medians from the script's table: `name  median  min  max  ratio` per line. */
function parseTable(stdout: string, executable: string): { providerMs: number; baselineMs: number } {
  const rows = stdout
    .split('\n')
    .map((line) => /^(.*?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!.trim(), median: Number(m[2]) }));
  const baseline = rows.find((r) => r.name.startsWith('baseline'));
  const provider = rows.find((r) => r !== baseline && path.resolve(ROOT, r.name) === path.resolve(executable)) ?? rows.find((r) => r !== baseline);
  if (!baseline || !provider) throw new Error(`cannot read the medians from bench-startup.js's output:\n${stdout}`);
  return { providerMs: provider.median, baselineMs: baseline.median };
}
