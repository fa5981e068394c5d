/**
 * Two jest projects, both run by `npm test` (and so by CI), unit first:
 *
 * - unit: pure logic and in-process services (on SQLite). No PostgreSQL, no
 *   Terraform, nothing built by `tsc` (dist/, bin/): `npm run test:unit`
 *   takes seconds and needs no build.
 * - acceptance: the test files listed in ACCEPTANCE below, which use the real
 *   parts: PostgreSQL (started by the first file that asks for a database,
 *   see test/support/postgres.ts), Terraform, the built provider and CLI,
 *   release files, the examples. `npm run test:acceptance`.
 *
 * Every test file is in exactly one project: a file is unit unless ACCEPTANCE
 * names it. A new file that needs PostgreSQL or Terraform but is not listed
 * here fails test/support-checks/projects.test.ts (a unit test), which says
 * what to add.
 */
const os = require('node:os');
const path = require('node:path');

/** Test files (globs relative to this folder) that use PostgreSQL, Terraform, Chromium, bin/ or dist/. */
const ACCEPTANCE = [
  // cdktf apps; their tests run them with Terraform.
  'examples/**/*.test.ts',
  // The bench's verdicts; its modules start PostgreSQL and Terraform (the test itself does not).
  'test/bench/**/*.test.ts',
  'test/bindings/**/*.test.ts',
  // Headless Chromium (test/support/browser.ts), an external program.
  'test/browser/**/*.test.ts',
  'test/cli/**/*.test.ts',
  'test/demo/**/*.test.ts',
  // api: every curl example against a running service; the others run Terraform.
  'test/docs/{api,examples,lifecycle-claims,readme-walkthrough,typescript-examples}.test.ts',
  'test/gitops/workflows.test.ts',
  // plan.test.ts is pure logic; every other provider test runs the built provider.
  'test/provider/{batched-refresh,cdktf-deploy,crash,e2e,errors,hostile-urls,insecure-endpoint,protocol,signin-stack,upgrade}.test.ts',
  'test/release/**/*.test.ts',
  // crypto.test.ts is pure logic; the others run on SQLite and PostgreSQL, or run bin/appreg.
  'test/server/{authz,cli,concurrency,console-actions,console-http,contract,hardening,hostile-urls,lifecycle,people,person-rights,replay,secrets,signin,signin-device,signin-security,tokens}.test.ts',
  'test/support/**/*.test.ts',
  // The toy provider built into dist/, and Terraform.
  'test/tfplugin/{harness,serve,terraform}.test.ts',
  'test/trials/**/*.test.ts',
];

const ALL = ['<rootDir>/test/**/*.test.ts', '<rootDir>/examples/**/*.test.ts'];

/** An absolute glob for a path relative to this folder (whose name may hold glob characters). */
const absolute = (glob) => `${__dirname.replace(/[()[\]{}*?!+@]/g, '\\$&')}${path.sep}${glob}`;

const common = {
  // Type checking is done once by `tsc` in `npm test`; ts-jest only transpiles
  // (tsconfig.json has isolatedModules), which keeps a run fast.
  transform: { '^.+\\.ts$': 'ts-jest' },
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/cdktf.out/'],
  // dist/package.json is a copy of package.json; without this jest warns of a name collision.
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60000,
  // At least two test files at a time. Jest's default (one worker fewer than
  // there are cores) runs everything serially in its own process on a 2-core
  // machine, where most acceptance tests wait on child processes (Terraform,
  // the provider, PostgreSQL) and leave a core idle.
  maxWorkers: Math.max(2, (os.availableParallelism?.() ?? os.cpus().length) - 1),
  projects: [
    {
      ...common,
      displayName: 'unit',
      testEnvironment: 'node',
      // Negated globs only take files out of the positive ones, so they come last.
      testMatch: [...ALL, ...ACCEPTANCE.map((g) => `!${absolute(g)}`)],
    },
    {
      ...common,
      displayName: 'acceptance',
      // Node's environment, plus keeping Terraform's trace log of a failed test only.
      testEnvironment: '<rootDir>/test/support/acceptance-environment.ts',
      testMatch: ACCEPTANCE.map((g) => `<rootDir>/${g}`),
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
