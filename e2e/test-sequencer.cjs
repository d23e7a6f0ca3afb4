// Jest's own order (slowest first, from its timing cache), except that the
// leak check runs after every other suite: it counts what they left behind.
const Sequencer = require('@jest/test-sequencer').default;

const LAST = /no-leaked-containers\.e2e\.spec\.ts$/;

class LeakCheckLast extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    return [
      ...sorted.filter((t) => !LAST.test(t.path)),
      ...sorted.filter((t) => LAST.test(t.path)),
    ];
  }
}

module.exports = LeakCheckLast;
