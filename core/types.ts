/** Small shared types: the vocabulary of IAM keys and the component's two slots. */

/** An access key's status, as IAM reports it. */
export type KeyStatus = "Active" | "Inactive";

export function isKeyStatus(value: unknown): value is KeyStatus {
  return value === "Active" || value === "Inactive";
}

/** IAM allows two keys per user, so the component manages two slots. */
export type Slot = "a" | "b";
export const SLOTS: readonly Slot[] = ["a", "b"];

export function otherSlot(slot: Slot): Slot {
  return slot === "a" ? "b" : "a";
}
