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
  // Through nx's @nx/jest executor Jest warns "Unknown option testSequencer"
  // (it validates this file as a project config) but still applies it.
  testSequencer: '<rootDir>/test-sequencer.cjs',
  // Real images, containers and registries: minutes, not milliseconds.
  testTimeout: 20 * 60 * 1000,
};
