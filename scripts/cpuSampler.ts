/**
 * CPU seconds by process during one command, for `bench:stack --cpu`: every 50 ms it reads
 * /proc/<pid>/stat of the command's process tree (the CLI, its language host, the program, the
 * provider plugins and dynamic-provider hosts it starts) and of the processes named on start (the
 * emulator, the benchmark's own process with its counting proxy), keeps each process's last
 * user + system time, and sums them by kind. Linux only; a process that lives less than one
 * sample is missed (the figures are a lower bound by at most 50 ms per such process).
 * `KEYROTATION_BENCH_CPU_DEBUG=1` prints each process's CPU seconds and command line to stderr.
 */
import * as fs from "fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export type ProcessKind =
  | "engine (pulumi)"
  | "language host"
  | "program"
  | "provider plugin"
  | "dynamic-provider host"
  | "emulator"
  | "benchmark (proxy)"
  | "other";

/** CPU seconds by process kind, and how many processes of that kind ran. */
export type CpuByKind = Record<string, { seconds: number; processes: number }>;

interface Stat {
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: split after its end.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** The kind of a process in a Pulumi deployment, from its command line. */
export function kindOf(command: string): ProcessKind {
  const argv0 = command.split(" ")[0] ?? "";
  if (/(^|\/)pulumi$/.test(argv0)) return "engine (pulumi)";
  if (/pulumi-language-/.test(argv0)) return "language host";
  if (/cmd\/run-plugin/.test(command)) return "provider plugin";
  if (/cmd\/dynamic-provider/.test(command)) return "dynamic-provider host";
  if (/cmd\/run(\/|\s|$)/.test(command)) return "program";
  return "other";
}

export class CpuSampler {
  private readonly seen = new Map<
    number,
    { kind: ProcessKind; command: string; start: number; last: number }
  >();
  private timer?: NodeJS.Timeout;

  /** `named`: processes outside the command's tree to count (pid -> kind). */
  constructor(private readonly named: ReadonlyMap<number, ProcessKind>) {}

  start(rootPid: () => number | undefined): void {
    // The named processes' times at the start are subtracted: only this command's share counts.
    for (const [pid, kind] of this.named) {
      const s = readStat(pid);
      if (s) this.seen.set(pid, { kind, command: cmdline(pid), start: s.cpuTicks, last: s.cpuTicks });
    }
    this.timer = setInterval(() => this.sample(rootPid()), 50);
  }

  private sample(root: number | undefined): void {
    for (const [pid, entry] of this.seen) {
      if (this.named.has(pid)) entry.last = readStat(pid)?.cpuTicks ?? entry.last;
    }
    if (root === undefined) return;
    const stats = new Map<number, Stat>();
    for (const name of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const s = readStat(Number(name));
      if (s) stats.set(Number(name), s);
    }
    const inTree = (pid: number): boolean => {
      for (let p = pid, hops = 0; p > 1 && hops < 32; hops++) {
        if (p === root) return true;
        const s = stats.get(p);
        if (!s) return false;
        p = s.ppid;
      }
      return false;
    };
    for (const [pid, s] of stats) {
      if (this.named.has(pid) || !inTree(pid)) continue;
      const entry = this.seen.get(pid);
      if (entry) {
        entry.last = s.cpuTicks;
        // A wrapper script (pulumi-resource-pulumi-nodejs) execs Node under the same pid: look again.
        if (entry.kind === "other") {
          entry.command = cmdline(pid) || entry.command;
          entry.kind = kindOf(entry.command);
        }
      } else {
        const command = cmdline(pid);
        this.seen.set(pid, { kind: kindOf(command), command, start: 0, last: s.cpuTicks });
      }
    }
  }

  /** Stops sampling; CPU seconds by kind, and the number of processes of each kind. */
  stop(): CpuByKind {
    if (this.timer) clearInterval(this.timer);
    this.sample(undefined);
    const out: CpuByKind = {};
    for (const { kind, command, start, last } of this.seen.values()) {
      if (process.env.KEYROTATION_BENCH_CPU_DEBUG) {
        process.stderr.write(
          `    cpu ${((last - start) / TICKS_PER_SECOND).toFixed(2)} s ${kind}: ${command.slice(0, 300)}\n`,
        );
      }
      const o = (out[kind] ??= { seconds: 0, processes: 0 });
      o.seconds = Math.round((o.seconds + (last - start) / TICKS_PER_SECOND) * 100) / 100;
      o.processes += 1;
    }
    return out;
  }
}
