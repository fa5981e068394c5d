/**
 * `npm run check:generated`: regenerates both flavours of bindings from
 * src/schema (in a temp dir) and fails when the committed `provider/` (cdktf)
 * or `provider-cdktn/` (cdktn) differs in any byte, or has a file too many or
 * too few; their package.json files included, so a package cannot ship with
 * another version than the provider's. CI runs it so that a schema change
 * cannot ship without its bindings, and a hand edit of a binding cannot ship
 * at all.
 */
import * as path from 'path';
import { bindingsDir, findRepoRoot, FLAVOURS, readBindings, renderBindings, type GeneratedFiles } from './generate';

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

/** Regenerates every flavour of bindings and lists every difference from the committed ones under `root` (empty: up to date). */
export async function checkGenerated(root: string = findRepoRoot()): Promise<string[]> {
  const problems: string[] = [];
  for (const flavour of FLAVOURS) {
    const dir = bindingsDir(root, flavour);
    const expected = await renderBindings(undefined, undefined, undefined, flavour);
    problems.push(...compareBindings(expected, readBindings(dir), path.relative(root, dir).split(path.sep).join('/')));
  }
  return problems;
}

/** The failure message for a list of differences. */
export function describeProblems(problems: readonly string[]): string {
  return [
    `The generated bindings (cdktf and cdktn) are out of date with src/schema (${problems.length} difference${problems.length === 1 ? '' : 's'}):`,
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
  process.stdout.write('cdktf and cdktn bindings are up to date with src/schema.\n');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`check:generated: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
