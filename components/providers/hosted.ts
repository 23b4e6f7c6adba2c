/**
 * The providers, by type, for the text the state stores as `__provider` (see stored.ts). Loaded by
 * the engine's dynamic-provider host from the installed package: keep this file at its path and
 * `provider(type)` answering for every type a state may hold.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ACCESS_KEY_TYPE, PUBLICATION_TYPE, SCHEDULE_TYPE } from "../../core/tokens";
import { accessKeyProvider } from "./accessKey";
import { scheduleProvider } from "./rotationSchedule";
import { publicationProvider } from "./secretPublication";

export function provider(type: string): pulumi.dynamic.ResourceProvider {
  switch (type) {
    case ACCESS_KEY_TYPE:
      return accessKeyProvider;
    case SCHEDULE_TYPE:
      return scheduleProvider;
    case PUBLICATION_TYPE:
      return publicationProvider;
    default:
      throw new Error(
        `pulumi-aws-key-rotation has no provider for resource type "${type}"; upgrade the package.`,
      );
  }
}
