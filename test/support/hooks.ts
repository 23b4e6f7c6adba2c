/**
 * Mocha root hooks: every test process gets one IAM emulator (moto's server on loopback),
 * started before the first test and always stopped after the last. A missing moto fails the
 * run at once with the install command; nothing is skipped.
 */
import { startEmulator, stopEmulator } from "./moto";
import { installSecretGuard, recordedLeaks } from "./secretGuard";

installSecretGuard();
// Node 20 is supported by the pinned SDK; its notice about future releases is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await startEmulator();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(10_000);
    await stopEmulator();
    const leaks = recordedLeaks();
    if (leaks.length > 0) {
      throw new Error(
        `A secret access key was written to ${leaks.join(", ")} during the tests (masked there).`,
      );
    }
  },
};
