/**
 * Splits the provider's bundle in two for the single executable: what runs
 * before the handshake line (the main script) and what runs after it (an
 * asset, compiled when first needed).
 *
 * Why: in a SEA every start turns the whole main script into a V8 string and
 * deserializes its code cache before the first line of it runs, so its size
 * is paid at each start (measured: a 2.7 MB bundle against the 1 MB that the
 * handshake needs cost about a quarter of the provider's start-up CPU time).
 * The provider already loads the rest lazily (`serve.ts`, `proto.ts`,
 * `main.ts`); those few `require` calls are what this plugin sends to the
 * second bundle, so the compiled JavaScript (and so every test) runs the
 * same code with or without the split.
 */
import * as path from 'node:path';
import type { Plugin } from 'esbuild';

/** A lazy `require` of the provider that loads post-handshake code: its file (relative to the checkout) and the specifier it passes. */
export interface DeferredImport {
  importer: string;
  specifier: string;
}

/** The lazy imports whose targets (and everything only they reach) go to the deferred bundle. */
export const DEFERRED_IMPORTS: readonly DeferredImport[] = [
  { importer: 'dist/src/provider/main.js', specifier: './provider' },
  { importer: 'dist/src/tfplugin/serve.js', specifier: './server' },
  { importer: 'dist/src/tfplugin/proto.js', specifier: 'protobufjs/light' },
];

/**
 * Modules allowed in both bundles. Such a module runs once per bundle, with
 * a copy of its state each: harmless for constants, wrong for a registry, a
 * cache or a class checked with `instanceof`. Anything else in both fails
 * the build (see {@link checkOverlap}).
 */
export const SHARED_STATELESS: readonly string[] = ['dist/src/schema/address.js'];

/**
 * Fails when a module other than {@link SHARED_STATELESS} is in both
 * bundles, naming it and what to do. `main` and `deferred` are the inputs of
 * each build (esbuild's metafile keys, relative to the checkout).
 */
export function checkOverlap(main: Iterable<string>, deferred: Iterable<string>): void {
  const inMain = new Set(main);
  const both = [...deferred].filter((m) => inMain.has(m) && !SHARED_STATELESS.includes(m));
  if (both.length > 0) {
    throw new Error(
      `these modules are in both the provider's start-up bundle and its deferred bundle, so they would run twice with separate state: ${both.join(', ')}. ` +
        'Import them on one side only, or, if they hold no state, add them to SHARED_STATELESS in scripts/release/startup-split.ts',
    );
  }
}

/** SEA asset names of the deferred bundle and of its V8 code cache. */
export const DEFERRED_ASSET = 'deferred.js';
export const DEFERRED_CACHE_ASSET = 'deferred.cache';

const LOADER = 'appreg-deferred-loader';

/**
 * The main script's side: loads the deferred bundle from the executable's
 * assets once, with its code cache when V8 accepts it, and hands out the
 * modules by key. `require` there is the SEA's, which reaches only Node's
 * built-in modules, which is all the bundle asks of it.
 */
const LOADER_SOURCE = `
let loaded;
module.exports = function deferred(key) {
  if (!loaded) {
    const sea = require('node:sea');
    const vm = require('node:vm');
    const source = sea.getAsset(${JSON.stringify(DEFERRED_ASSET)}, 'utf8');
    const cachedData = Buffer.from(sea.getAsset(${JSON.stringify(DEFERRED_CACHE_ASSET)}));
    const wrapper = new vm.Script(source, { filename: ${JSON.stringify(DEFERRED_ASSET)}, cachedData }).runInThisContext();
    const mod = { exports: {} };
    wrapper.call(mod.exports, mod.exports, require, mod, ${JSON.stringify(DEFERRED_ASSET)}, '.');
    loaded = mod.exports;
  }
  const m = loaded[key];
  if (m === undefined) throw new Error('the deferred bundle has no module ' + key + ' (a bug in the release build)');
  return m;
};
`;

/** What the main-script build found: each deferred import's target, relative to the checkout. */
export interface SplitState {
  targets: Set<string>;
  seen: Set<string>;
}

/**
 * The esbuild plugin for the main script: each of {@link DEFERRED_IMPORTS}
 * becomes `require(loader)(key)`, key being the target's path relative to
 * the checkout (a relative path keeps the bundle free of checkout paths).
 */
export function mainScriptPlugin(repoRoot: string, state: SplitState): Plugin {
  const wanted = new Map(DEFERRED_IMPORTS.map((d) => [`${d.importer}\0${d.specifier}`, d]));
  return {
    name: 'appreg-startup-split',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === 'inner' || !args.importer) return undefined;
        const importer = path.relative(repoRoot, args.importer).split(path.sep).join('/');
        const key = `${importer}\0${args.path}`;
        if (!wanted.has(key)) return undefined;
        const real = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: 'inner' });
        if (real.errors.length > 0) return { errors: real.errors };
        const target = path.relative(repoRoot, real.path).split(path.sep).join('/');
        state.targets.add(target);
        state.seen.add(key);
        return { path: target, namespace: 'appreg-deferred' };
      });
      build.onResolve({ filter: new RegExp(`^${LOADER}$`) }, () => ({ path: LOADER, namespace: 'appreg-deferred-loader' }));
      build.onLoad({ filter: /.*/, namespace: 'appreg-deferred-loader' }, () => ({ contents: LOADER_SOURCE, loader: 'js' }));
      build.onLoad({ filter: /.*/, namespace: 'appreg-deferred' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(LOADER)})(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
      build.onEnd(() => {
        const missing = DEFERRED_IMPORTS.filter((d) => !state.seen.has(`${d.importer}\0${d.specifier}`));
        if (missing.length > 0) {
          // A lazy require that moved or went: the split would silently stop working, so say where to look.
          throw new Error(
            `the release's start-up split did not find ${missing.map((m) => `require('${m.specifier}') in ${m.importer}`).join(', ')}; ` +
              'update DEFERRED_IMPORTS in scripts/release/startup-split.ts',
          );
        }
      });
    },
  };
}

/**
 * The deferred bundle's entry: a getter per target, so each module runs
 * when first asked for, in the order the provider asks, as with plain
 * `require`.
 */
export function deferredEntrySource(targets: Iterable<string>): string {
  const getters = [...targets].sort().map((t) => `  get ${JSON.stringify(t)}() { return require(${JSON.stringify(`./${t}`)}); },`);
  return `module.exports = {\n${getters.join('\n')}\n};\n`;
}

/** The deferred bundle as the loader compiles it: one function expression of the CommonJS parameters. */
export function wrapDeferred(bundle: string): string {
  return `(function (exports, require, module, __filename, __dirname) {\n${bundle}\n})`;
}
