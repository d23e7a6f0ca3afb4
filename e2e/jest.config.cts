module.exports = {
  displayName: 'docker-e2e',
  preset: '../jest.preset.js',
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'html'],
  testMatch: ['<rootDir>/src/**/*.e2e.spec.ts'],
  globalSetup: '<rootDir>/src/support/global-setup.ts',
  globalTeardown: '<rootDir>/src/support/global-teardown.ts',
  testSequencer: '<rootDir>/test-sequencer.cjs',
  // One suite at a time: suites share the engine's CPU and build cache.
  maxWorkers: 1,
  // Real images, containers and registries: minutes, not milliseconds.
  testTimeout: 20 * 60 * 1000,
};
