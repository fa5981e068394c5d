/**
 * `npm run check:generated`: regenerates the cdktf bindings from src/schema
 * (in a temp dir) and fails when the committed `provider/` differs in any
 * byte, or has a file too many or too few. CI runs it so that a schema change
 * cannot ship without its bindings, and a hand edit of a binding cannot ship
 * at all.
 */
import * as path from 'path';
import { bindingsDir, findRepoRoot, readBindings, renderBindings, type GeneratedFiles } from './generate';

/** What to do about any difference; CI logs end with it. */
export const FIX_HINT = 'To fix: run npm run generate and commit the result (never edit the generated files by hand).';

/** Line endings a Windows checkout may have added are not a difference (provider/.gitattributes pins LF in git). */
const normalize = (s: string): string => s.replace(/\r\n/g, '\n');

function firstDifference(expected: string, actual: string): string {
  const want = expected.split('\n');
  const got = actual.split('\n');
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (want[i] !== got[i]) {
      const show = (line: string | undefined): string => (line === undefined ? '(end of file)' : JSON.stringify(line));
      return `first difference at line ${i + 1}:\n      generated: ${show(want[i])}\n      committed: ${show(got[i])}`;
    }
  }
  return 'no line differs';
}

/**
 * Compares freshly generated bindings with what is on disk. Returns one
 * line per difference, naming the file by its path from the repository root;
 * empty when they are identical.
 */
export function compareBindings(expected: GeneratedFiles, actual: GeneratedFiles, label: string): string[] {
  const problems: string[] = [];
  for (const [rel, content] of expected) {
    const found = actual.get(rel);
    if (found === undefined) problems.push(`missing  ${label}/${rel}`);
    else if (normalize(found) !== content) problems.push(`changed  ${label}/${rel}: ${firstDifference(content, normalize(found))}`);
  }
  for (const rel of actual.keys()) {
    if (!expected.has(rel)) problems.push(`extra    ${label}/${rel} (not produced by the generator)`);
  }
  return problems;
}

/** Regenerates the bindings and lists every difference from the committed ones (empty: up to date). */
export async function checkGenerated(root: string = findRepoRoot()): Promise<string[]> {
  const dir = bindingsDir(root);
  return compareBindings(await renderBindings(), readBindings(dir), path.relative(root, dir).split(path.sep).join('/'));
}

/** The failure message for a list of differences. */
export function describeProblems(problems: readonly string[]): string {
  return [
    `The cdktf bindings are out of date with src/schema (${problems.length} difference${problems.length === 1 ? '' : 's'}):`,
    ...problems.map((p) => `  ${p}`),
    FIX_HINT,
  ].join('\n');
}

async function main(): Promise<void> {
  const problems = await checkGenerated();
  if (problems.length > 0) {
    process.stderr.write(`${describeProblems(problems)}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write('cdktf bindings are up to date with src/schema.\n');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`check:generated: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
