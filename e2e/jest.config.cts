module.exports = {
  displayName: 'docker-e2e',
  preset: '../jest.preset.js',
  testEnvironment: '<rootDir>/suite-environment.cjs',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'html'],
  testMatch: ['<rootDir>/src/**/*.e2e.spec.ts'],
  globalSetup: '<rootDir>/src/support/global-setup.ts',
  globalTeardown: '<rootDir>/src/support/global-teardown.ts',
  testSequencer: '<rootDir>/test-sequencer.cjs',
  // Suites share no state (unique names, per-project container counts), so
  // two run at once: one builds while the other waits on containers and nx.
  maxWorkers: Number(process.env.ML_DOCKER_E2E_WORKERS || 2),
  // Real images, containers and registries: minutes, not milliseconds.
  testTimeout: 20 * 60 * 1000,
};
