/**
 * Mocha root hooks of the emulator and end-to-end suites: one IAM emulator (moto's server on
 * loopback) per test process, started before the first test and always stopped after the last.
 * A missing moto fails the run at once with the install command; nothing is skipped.
 */
import { startEmulator, stopEmulator } from "./moto";

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await startEmulator();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(10_000);
    await stopEmulator();
  },
};
