/**
 * State compatibility, do not import: stacks deployed with version 0.1.0 of this package hold
 * provider code in their state that requires `pulumi-aws-key-rotation/dist/components/errors.js`
 * (the engine runs that stored code to read and delete those resources). This path must keep
 * answering until a deploy has updated or replaced each such resource.
 */
export * from "../core/errors";
