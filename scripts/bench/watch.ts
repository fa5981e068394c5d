/**
 * Peak memory of the provider processes Terraform starts: every ~50 ms the
 * descendants of the Terraform process are found through /proc (Terraform
 * starts the provider several times per command, and `terraform_data` needs
 * no plugin, so every descendant is a provider) and the largest VmHWM, the
 * kernel's own high-water mark of each process's resident set, is kept.
 * Linux only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What {@link watchDescendants} saw. */
export interface PeakRss {
  /** The largest VmHWM of any descendant, in KiB (0: none seen). */
  maxKib: number;
  /** How many distinct descendant processes were seen. */
  processes: number;
  /** The command line of the process with the largest peak. */
  command: string;
}

/** The parent pid of `pid`, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may hold spaces: the fields after it are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

/** VmHWM of `pid` in KiB, or undefined when it is gone. */
function highWaterKib(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The pids of all processes below `root`, now. */
export function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const ppid = parentOf(pid);
    if (ppid !== undefined) parents.set(pid, ppid);
  }
  const below = new Set<number>([root]);
  // Few levels at most (terraform → provider, or terraform → sh → node), so repeat until nothing new.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!below.has(pid) && below.has(ppid)) {
        below.add(pid);
        grew = true;
      }
    }
  }
  below.delete(root);
  return [...below];
}

/** Starts watching the descendants of `root`; `stop()` ends it and returns the peak. */
export function watchDescendants(root: number, everyMs = 50): { stop(): PeakRss } {
  const peaks = new Map<number, number>();
  let best = { kib: 0, pid: 0, command: '' };
  const poll = (): void => {
    for (const pid of descendants(root)) {
      const kib = highWaterKib(pid);
      if (kib === undefined) continue;
      peaks.set(pid, Math.max(kib, peaks.get(pid) ?? 0));
      if (kib > best.kib) {
        let command = best.pid === pid ? best.command : '';
        if (!command) {
          try {
            // Program names only: the executable sits in a temporary folder gone by the time the report is read.
            command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).map((a) => path.basename(a)).join(' ');
          } catch {
            command = '?';
          }
        }
        best = { kib, pid, command };
      }
    }
  };
  poll();
  const timer = setInterval(poll, everyMs);
  return {
    stop(): PeakRss {
      clearInterval(timer);
      return { maxKib: best.kib, processes: peaks.size, command: best.command };
    },
  };
}
