/**
 * What the state stores as a resource's `__provider`: a few hundred bytes that load this package's
 * providers from where the stack runs, instead of a serialized copy of their code (30 to 250 KB
 * per user, read and written on every deploy).
 *
 * The engine's dynamic-provider host evaluates the text as a module from the project's folder and
 * calls its `handler()`. The text requires `pulumi-aws-key-rotation/hosted` (the package's exports
 * map: `dist/components/providers/hosted.js`) from the project's node_modules (a consumer stack),
 * or, in this repository's own project, where the package is not in node_modules,
 * `dist/components/providers/hosted.js` under the project folder (built by `npm install` and
 * `npm run build`).
 *
 * A contract with every state written since: the `./hosted` export and `hosted.js` at that path keep exporting `provider(type)`
 * for each type below. Delete and Read run the text stored in the state, so the code that runs is
 * always the installed package's.
 */
import * as pulumi from "@pulumi/pulumi";
import { ACCESS_KEY_TYPE, DYNAMIC_MODULE, PUBLICATION_TYPE, SCHEDULE_TYPE } from "../../core/tokens";

export const PACKAGE_NAME = "pulumi-aws-key-rotation";
/** The package subpath (exports map) of hosted.js, and its file under the package folder. */
export const HOSTED_SUBPATH = `${PACKAGE_NAME}/hosted`;
export const HOSTED_FILE = "dist/components/providers/hosted.js";
export type StoredType = typeof ACCESS_KEY_TYPE | typeof SCHEDULE_TYPE | typeof PUBLICATION_TYPE;

/**
 * The module text the state stores for resources of `type` (about 220 bytes; it is stored twice
 * per resource, in its inputs and its outputs). When neither path loads, the engine reports Node's
 * "Cannot find module" for the project folder's `dist/...`: install the package (or, in its own
 * repository, run npm run build).
 */
export function storedProviderText(type: StoredType): string {
  return (
    `exports.handler=function(){var m;try{m=require("${HOSTED_SUBPATH}")}` +
    `catch(e){if(e.code!=="MODULE_NOT_FOUND")throw e;m=require(process.cwd()+"/${HOSTED_FILE}")}` +
    `return m.provider("${type}")}`
  );
}

/**
 * A resource served by the engine's dynamic-provider host (`pulumi-nodejs:dynamic/keyrotation:<type>`),
 * like `pulumi.dynamic.Resource`, with the compact provider text above in place of a closure.
 */
export abstract class StoredProviderResource extends pulumi.CustomResource {
  constructor(type: StoredType, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    if ("__provider" in props) throw new Error("A dynamic resource must not define the __provider key");
    super(
      `pulumi-nodejs:dynamic/${DYNAMIC_MODULE}:${type}`,
      name,
      { ...props, __provider: storedProviderText(type) },
      opts,
    );
  }
}
