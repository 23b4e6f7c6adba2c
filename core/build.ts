/**
 * Whether a build is older than its sources: the newest modification time of the TypeScript
 * sources under some folders (used by the root program and the audit's bin test).
 */
import * as fs from "fs";
import * as path from "path";

/** The newest mtime (ms) of the `.ts` files under `dirs`, recursively; 0 when there are none. */
export function newestSourceMtime(dirs: readonly string[]): number {
  const newest = (dir: string): number =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .map((e) =>
        e.isDirectory()
          ? newest(path.join(dir, e.name))
          : e.name.endsWith(".ts")
            ? fs.statSync(path.join(dir, e.name)).mtimeMs
            : 0,
      )
      .reduce((a, b) => Math.max(a, b), 0);
  return dirs.map(newest).reduce((a, b) => Math.max(a, b), 0);
}
