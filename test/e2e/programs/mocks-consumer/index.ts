// A consumer's stack: the deployer's key, rotated by the component and published for CI.
import { RotatingAccessKey } from "pulumi-aws-key-rotation";

export const deployerKey = new RotatingAccessKey("ci", {
  userName: "ci-deployer",
  rotationDays: 30,
  overlapDays: 7,
  secretsManagerSecretId: "ci/deployer-key",
});

export const accessKeyId = deployerKey.accessKeyId;
export const nextRotationDate = deployerKey.nextRotationDate;
