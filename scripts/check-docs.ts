/**
 * `npm run check:docs`: regenerates the reference docs from src/schema,
 * examples/ and the OpenAPI document of the service in memory, and fails
 * when the committed `docs/` differs in any byte, or has a page too many or
 * too few. CI runs it so that a schema or
 * example change cannot ship without its docs, and a hand edit of a page
 * cannot ship at all.
 */
import { compareBindings } from './check-generated';
import { type ApiSource, DOCS_DIR, generateDocs, readDocs } from './docs';
import { findRepoRoot } from './generate';

/** What to do about any difference; CI logs end with it. */
export const DOCS_FIX_HINT =
  'To fix: run npm run docs and commit the result (never edit docs/ by hand: change src/schema, examples/, the route schemas in src/server or the tables in scripts/docs.ts).';

/**
 * Regenerates the docs and lists every difference from the committed ones,
 * one line per file named from the repository root (empty: up to date).
 * The comparison is the one `check:generated` uses, so both checks report
 * (and forgive Windows line endings) alike.
 */
export async function checkDocs(root: string = findRepoRoot(), api?: ApiSource): Promise<string[]> {
  return compareBindings(await generateDocs(root, undefined, api), readDocs(root), DOCS_DIR);
}

/** The failure message for a list of differences. */
export function describeDocsProblems(problems: readonly string[]): string {
  return [
    `The docs are out of date with src/schema, examples/ and GET /openapi.json (${problems.length} difference${problems.length === 1 ? '' : 's'}):`,
    ...problems.map((p) => `  ${p}`),
    DOCS_FIX_HINT,
  ].join('\n');
}

async function main(): Promise<void> {
  const problems = await checkDocs();
  if (problems.length > 0) {
    process.stderr.write(`${describeDocsProblems(problems)}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write('docs/ is up to date with src/schema, examples/ and GET /openapi.json.\n');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`check:docs: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
