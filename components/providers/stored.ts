/**
 * What state written by 0.1.x stores as a dynamic resource's `__provider`: a loader of this package's providers (about
 * 100 bytes) from where the stack runs, instead of a serialized copy of their code (30 to 250 KB
 * per user, read and written on every deploy).
 *
 * The engine's dynamic-provider host evaluates the text as a module whose node_modules paths start
 * at the project's folder, and calls its `handler()`. The text requires `pulumi-aws-key-rotation/hosted`
 * (the package's exports map: `dist/components/providers/hosted.js`): in a consumer stack, the
 * installed package; in this repository (the root project and the test programs), the link that
 * `npm install` makes from node_modules/pulumi-aws-key-rotation to the repository
 * (scripts/link-self.mjs), to the build in dist/.
 *
 * A contract with every state written since: the `./hosted` export keeps exporting `provider(type)`
 * for each type below. Delete and Read run the text stored in the state, so the code that runs is
 * always the installed package's.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  ACCESS_KEY_TYPE,
  DYNAMIC_MODULE,
  PROVIDER_MODULE,
  PROVIDER_PACKAGE,
  PUBLICATION_TYPE,
  SCHEDULE_TYPE,
} from "../../core/tokens";
import { PACKAGE_VERSION } from "../../provider/version";

export const PACKAGE_NAME = "pulumi-aws-key-rotation";
/** The package subpath (exports map) of hosted.js, and its file under the package folder. */
export const HOSTED_SUBPATH = `${PACKAGE_NAME}/hosted`;
export const HOSTED_FILE = "dist/components/providers/hosted.js";
export type StoredType = typeof ACCESS_KEY_TYPE | typeof SCHEDULE_TYPE | typeof PUBLICATION_TYPE;

/**
 * The module text the state stores for resources of `type` (stored twice per resource, in its
 * inputs and its outputs). When the package cannot be found from the project's folder, the engine
 * reports Node's "Cannot find module 'pulumi-aws-key-rotation/hosted'": install the package (in its
 * own repository: npm install, which builds it and links it).
 */
export function storedProviderText(type: StoredType): string {
  return `exports.handler=function(){return require("${HOSTED_SUBPATH}").provider("${type}")}`;
}

/**
 * Turns stack captures off until the returned function is called; registration goes in between
 * (`const restore = muteStackCaptures(); try { super(...) } finally { restore(); }`).
 *
 * Registering a resource makes four promises per property (this package's resources have 9 to
 * 14), each with `new Error().stack` for Pulumi's promise-leak report; under ts-node every such
 * stack is source-mapped frame by frame, which made these stacks the largest CPU cost of a
 * preview's program (about 20 ms per RotatingAccessKey). Those captures are made synchronously
 * during registration: they get no frames. The resource's source position and stack trace, which
 * Pulumi records with its own limit, are unchanged; so is every error's stack except the one
 * Pulumi pre-allocates for a failed registration, whose message names the resource.
 */
export function muteStackCaptures(): () => void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  return () => {
    Error.stackTraceLimit = limit;
  };
}

/**
 * A custom resource of the `keyrotation` provider plugin (`keyrotation:iam:<type>`, served by
 * provider/). Its state holds no provider code. The alias from the dynamic type
 * (`pulumi-nodejs:dynamic/keyrotation:<type>`) carries a resource deployed by 0.1.x over with its id
 * and stored secret; the provider ignores the old `__provider` field and rewrites that state once.
 * `version` names the package's plugin, so that children registered by the plugin's `construct`
 * and by a TypeScript program resolve the same default provider.
 */
export abstract class KeyRotationResource extends pulumi.CustomResource {
  constructor(type: StoredType, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    // Registered without stack captures for the SDK's property promises (muteStackCaptures).
    const restore = muteStackCaptures();
    try {
      super(
        `${PROVIDER_PACKAGE}:${PROVIDER_MODULE}:${type}`,
        name,
        props,
        pulumi.mergeOptions(opts, {
          version: PACKAGE_VERSION,
          aliases: [{ type: `pulumi-nodejs:dynamic/${DYNAMIC_MODULE}:${type}` }],
        }),
      );
    } finally {
      restore();
    }
  }
}
