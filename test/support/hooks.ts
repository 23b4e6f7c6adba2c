/**
 * Mocha root hooks of every suite: the secret guard. A secret access key that reaches mocha's
 * stdout or stderr fails the run. (The emulator has its own hooks: emulatorHooks.ts.)
 */
import { installSecretGuard, recordedLeaks } from "./secretGuard";

installSecretGuard();
// The SDK's notice about Node versions of future releases is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

export const mochaHooks = {
  afterAll() {
    const leaks = recordedLeaks();
    if (leaks.length > 0) {
      throw new Error(
        `A secret access key was written to ${leaks.join(", ")} during the tests (masked there).`,
      );
    }
  },
};
