// mocha's spec reporter, which also prints why a test failed before mocha tries it once more
// (the e2e suite's --retries 1, a test's own this.retries): a retried test is never silent.
const { reporters, Runner } = require("mocha");

module.exports = class RetryReporter extends reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.on(Runner.constants.EVENT_TEST_RETRY, (test, err) => {
      console.log(`      retry: "${test.title}" failed, trying it once more: ${(err && err.stack) || err}`);
    });
  }
};
