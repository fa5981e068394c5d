/**
 * The folders of src/ form layers: no folder imports, directly or through
 * others, a folder that imports it back, and the protocol layer knows nothing
 * of OAuth. Parsed from the sources with a regular expression (no compiler
 * API, no dependency): every `from '…'`, `import '…'`, `import('…')` and
 * `require('…')` with a relative specifier, type-only imports included,
 * because a type import is a dependency of the design even when it leaves no
 * trace at run time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The top folder of src/ a file is in; `.` for files directly in src/. */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0]! : '.';
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Imports between top folders: from → to → the files that make the edge. */
function folderGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(SPECIFIER)) {
      const target = resolve(dirname(file), m[1]!);
      if (!target.startsWith(SRC + sep)) continue;
      const to = folderOf(target.endsWith('.ts') ? target : `${target}.ts`);
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, edges);
      edges.set(to, [...(edges.get(to) ?? []), relative(SRC, file)]);
    }
  }
  return graph;
}

/** Every cycle of folders, each as the path that closes it (`a → b → a`). */
function cycles(graph: Map<string, Map<string, string[]>>): string[] {
  const found = new Set<string>();
  const walk = (start: string, at: string, path: string[]): void => {
    for (const next of graph.get(at)?.keys() ?? []) {
      if (next === start) found.add([...path, next].join(' → '));
      else if (!path.includes(next) && next > start) walk(start, next, [...path, next]);
    }
  };
  for (const f of [...graph.keys()].sort()) walk(f, f, [f]);
  return [...found].sort();
}

/** Every file of src/ a file imports, directly or through others. */
function reachableFrom(start: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...start];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const target = resolve(dirname(file), m[1]!);
      if (!target.startsWith(SRC + sep)) continue;
      const candidates = [target, `${target}.ts`, join(target, 'index.ts')];
      const found = candidates.find((c) => c.endsWith('.ts') && sourceFiles(dirname(c)).includes(c));
      if (found) todo.push(found);
    }
  }
  return seen;
}

describe('layers of src/', () => {
  const graph = folderGraph();
  const importsOf = (folder: string): string[] => [...(graph.get(folder)?.keys() ?? [])].sort();

  test('the folders import each other without a cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  test('the cycle finder finds a cycle', () => {
    // Guards the test above against passing because it cannot see anything.
    const g = new Map([['a', new Map([['b', ['a.ts']]])], ['b', new Map([['c', ['b.ts']]])], ['c', new Map([['a', ['c.ts']]])]]);
    expect(cycles(g)).toEqual(['a → b → c → a']);
    expect(importsOf('provider').length).toBeGreaterThan(0);
  });

  test('the protocol layer (src/tfplugin) imports no OAuth folder', () => {
    expect(importsOf('tfplugin').filter((f) => f !== '.')).toEqual([]);
  });

  test('the framework (src/framework) imports only the protocol layer and the schema\'s files, never its index', () => {
    expect(importsOf('framework').filter((f) => !['tfplugin', 'schema', '.'].includes(f))).toEqual([]);
    const schemaFiles = (graph.get('framework')?.get('schema') ?? []);
    expect(schemaFiles.filter((f) => readFileSync(join(SRC, f), 'utf8').match(/from '\.\.\/schema(?:\/index)?'/))).toEqual([]);
  });

  test('the schema (src/schema) imports nothing of the protocol nor of what reads it', () => {
    // The schema is the one description every layer derives from (protocol schema, planning,
    // docs, bindings, the service's bodies, the client's inputs), so it can depend on none of them.
    expect(importsOf('schema').filter((f) => ['tfplugin', 'framework', 'provider', 'resources', 'server', 'client', 'cli'].includes(f))).toEqual([]);
    const loaded = [...reachableFrom(sourceFiles(join(SRC, 'schema')))].map((f) => relative(SRC, f));
    expect(loaded.filter((f) => /^(tfplugin|framework|provider|resources)\//.test(f))).toEqual([]);
  });

  test('the registration service (src/server) knows nothing of Terraform', () => {
    expect(importsOf('server').filter((f) => ['tfplugin', 'framework', 'provider', 'resources', 'cli'].includes(f))).toEqual([]);
  });

  test('nothing the registration service loads is Terraform code, not even through the schema', () => {
    const server = sourceFiles(join(SRC, 'server'));
    const loaded = [...reachableFrom(server)].map((f) => relative(SRC, f));
    expect(loaded.filter((f) => /^(tfplugin|framework|provider|resources)\//.test(f))).toEqual([]);
    expect(loaded).toContain(join('schema', 'definitions.ts'));
  });

  test('the resources reach the protocol only through the framework and the schema', () => {
    expect(importsOf('resources')).not.toContain('provider');
  });
});
