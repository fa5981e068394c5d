/**
 * `npm run release`: writes the release into `release/` (or `--out DIR`):
 * the provider zip, its SHA256SUMS and manifest, laid out as Terraform
 * registries do, and the npm tarballs of the bindings packages.
 *
 *   npm run release                       # everything, into <repo>/release
 *   npm run release -- --out /tmp/rel     # somewhere else
 *   npm run release -- --provider-only    # the provider files only (fast; tests, appreg provider install)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from './release/names';
import { buildProviderRelease, REPO_ROOT, type ProviderRelease } from './release/provider';

/** The parsed command line. */
export interface ReleaseArgs {
  outDir: string;
  providerOnly: boolean;
}

/** Parses `--out DIR` and `--provider-only`; anything else is an error. */
export function parseReleaseArgs(argv: readonly string[]): ReleaseArgs {
  const args: ReleaseArgs = { outDir: path.join(REPO_ROOT, 'release'), providerOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--provider-only') args.providerOnly = true;
    else if (a === '--out') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error('--out needs a directory');
      args.outDir = path.resolve(v);
    } else if (a.startsWith('--out=')) args.outDir = path.resolve(a.slice('--out='.length));
    else throw new Error(`unknown argument ${a}; use --out DIR and --provider-only`);
  }
  return args;
}

/** What {@link release} wrote. */
export interface ReleaseResult {
  provider: ProviderRelease;
  /** Paths of the bindings tarballs (none with `providerOnly`). */
  bindings: string[];
}

/** Builds the release into `args.outDir`; progress goes to `log`. */
export async function release(args: ReleaseArgs, log: (line: string) => void = () => undefined): Promise<ReleaseResult> {
  const provider = await buildProviderRelease({ outDir: args.outDir, log });
  let bindings: string[] = [];
  if (!args.providerOnly) {
    log('packing the bindings packages (cdktf, cdktn)');
    // Loaded only here: it brings the TypeScript compiler and the generator, which --provider-only does not need.
    const { packBindings } = require('./release/bindings') as typeof import('./release/bindings');
    bindings = await packBindings(args.outDir);
  }
  return { provider, bindings };
}

/** A size a person reads at a glance: 34.0 MiB, 8.0 KiB. */
function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The summary printed at the end: each file with its size and SHA-256. */
export function formatSummary(r: ReleaseResult, outDir: string): string {
  const p = r.provider;
  const lines = [
    `appreg ${p.version} release in ${outDir}`,
    `  ${path.basename(p.zipPath)}  ${size(p.zipSize)}  sha256 ${p.zipSha256}`,
    `    ${p.executableName} (inside)  ${size(p.executableSize)}  sha256 ${p.executableSha256}`,
    `  ${path.basename(p.sumsPath)}`,
    `  ${path.basename(p.manifestPath)}`,
  ];
  for (const t of r.bindings) {
    lines.push(`  ${path.basename(t)}  ${size(fs.statSync(t).size)}  sha256 ${sha256File(t)}`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const args = parseReleaseArgs(process.argv.slice(2));
  const started = Date.now();
  const result = await release(args, (line) => process.stderr.write(`release: ${line}\n`));
  process.stdout.write(formatSummary(result, args.outDir));
  process.stderr.write(`release: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`release: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
