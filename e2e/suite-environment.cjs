// Jest's node environment, plus a marker file for as long as a suite runs:
// with several workers, the leak check (sorted last) starts while other
// suites may still be running, and waits for their markers to go.
const { TestEnvironment } = require('jest-environment-node');
const { rmSync, writeFileSync } = require('node:fs');
const { basename, join } = require('node:path');

class SuiteEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    const dir = process.env.ML_DOCKER_E2E_RUNNING_DIR;
    this.marker =
      dir && join(dir, `${basename(context.testPath)}.${process.pid}`);
  }

  async setup() {
    await super.setup();
    if (this.marker) writeFileSync(this.marker, '');
  }

  async teardown() {
    if (this.marker) rmSync(this.marker, { force: true });
    await super.teardown();
  }
}

module.exports = SuiteEnvironment;
