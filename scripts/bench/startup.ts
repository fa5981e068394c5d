/**
 * Provider start-up, measured by {@link measureStartup} of
 * scripts/bench-startup.ts: the median time from spawn to the handshake line,
 * and a bare `node -e ""` start in the same run (interleaved) as the baseline.
 */
import { measureStartup } from '../bench-startup';

/** Start-up medians, in ms. */
export interface StartupFigures {
  providerMs: number;
  baselineMs: number;
  /** Median CPU time (user + system) until the handshake line, and the baseline's until exit, where Linux tells. */
  providerCpuMs?: number;
  baselineCpuMs?: number;
  runs: number;
}

/** Measures `executable`'s start-up against `node -e ""`, `runs` times each. */
export async function benchStartup(executable: string, runs: number): Promise<StartupFigures> {
  const r = await measureStartup({ executables: [executable], runs, names: ['provider'] });
  const baseline = r.rows[0]!;
  const provider = r.rows.find((row) => row.name === 'provider');
  if (!provider) throw new Error('measureStartup gave no row for the provider');
  return {
    providerMs: provider.medianMs,
    baselineMs: r.baselineMs,
    ...(provider.cpuMs !== undefined ? { providerCpuMs: provider.cpuMs } : {}),
    ...(baseline.cpuMs !== undefined ? { baselineCpuMs: baseline.cpuMs } : {}),
    runs: r.runs,
  };
}
