/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Type checking is done once by `tsc` in `npm test`; ts-jest only transpiles,
  // which keeps a full run fast on a 2-core machine.
  transform: { '^.+\\.ts$': 'ts-jest' },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/examples/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/cdktf.out/'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
};
