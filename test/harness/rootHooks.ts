/** Mocha root hooks: one private redis-server for the whole TS test run, killed at the end. */
import { startPrivateRedis, type PrivateRedis } from "../../src/server/privateRedis.js";

let redis: PrivateRedis | null = null;

/** The private Redis of this test run. */
export function testRedis(): PrivateRedis {
  if (redis === null) throw new Error("the private Redis is not running (root hooks not loaded?)");
  return redis;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(15000);
    redis = await startPrivateRedis();
  },
  async afterAll() {
    await redis?.stop();
  },
};
