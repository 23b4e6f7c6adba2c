/**
 * What the rotation writes on each IAM user it manages, so that tools that read IAM (the audit's
 * `rotation-stopped` verdict) know the user's schedule: pure functions, no AWS.
 *
 * - `keyrotation:schedule` = `rotation=30 overlap=7 max=90`: the user's `rotationDays`,
 *   `overlapDays` and `maxAgeDays`. Written by the schedule resource's create and update (never at
 *   preview), removed by its delete. Space-separated like the key tags: IAM tag values allow only
 *   letters, digits, spaces and `_ . : / = + - @` (no `;` or `,`), up to 256 characters.
 * - `keyrotation:<accessKeyId>` = `slot=a generation=3` (a key the rotation created) or `adopted`
 *   (a pre-existing key it took over); see components/rotation/keyRoles.ts.
 *
 * With the two intent tags (`keyrotation:pending-a`, `-b`), the rotation uses at most five of the
 * 50 tags IAM allows a user.
 */
export const SCHEDULE_TAG_KEY = "keyrotation:schedule";

/** The schedule settings the tag carries. */
export interface TaggedSchedule {
  rotationDays: number;
  overlapDays: number;
  maxAgeDays: number;
}

/** `rotation=30 overlap=7 max=90`. */
export function scheduleTagValue(s: TaggedSchedule): string {
  return `rotation=${s.rotationDays} overlap=${s.overlapDays} max=${s.maxAgeDays}`;
}

/** Parses a `keyrotation:schedule` value; undefined when it is not one this package writes. */
export function parseScheduleTag(value: string | undefined): TaggedSchedule | undefined {
  const m = /^rotation=(\d{1,4}) overlap=(\d{1,4}) max=(\d{1,5})$/.exec(value ?? "");
  if (!m) return undefined;
  const [rotationDays, overlapDays, maxAgeDays] = [m[1], m[2], m[3]].map(Number);
  if (rotationDays < 1 || overlapDays >= rotationDays) return undefined;
  return { rotationDays, overlapDays, maxAgeDays };
}

/** A key tag value of a key the rotation manages: a slot key (`slot=a generation=3`) or an adopted key. */
export function isRotationKeyTag(value: string | undefined): boolean {
  return value === "adopted" || /^slot=[ab] generation=\d+$/.test(value ?? "");
}

/**
 * What a user's tags say about the rotation: its schedule (when the tag is there and readable) and
 * the ids of the keys it manages.
 */
export function rotationFromTags(tags: readonly { Key?: string; Value?: string }[]): {
  schedule?: TaggedSchedule;
  managedKeyIds: string[];
} {
  let schedule: TaggedSchedule | undefined;
  const managedKeyIds: string[] = [];
  for (const tag of tags) {
    if (tag.Key === SCHEDULE_TAG_KEY) schedule = parseScheduleTag(tag.Value);
    else if (tag.Key?.startsWith("keyrotation:") && isRotationKeyTag(tag.Value)) {
      managedKeyIds.push(tag.Key.slice("keyrotation:".length));
    }
  }
  return { ...(schedule ? { schedule } : {}), managedKeyIds: managedKeyIds.sort() };
}
