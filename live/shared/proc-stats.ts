// What the operating system says about a tree of processes: who is alive, their resident memory and
// (on Linux) their open file descriptors and sockets. Used by the soak and the fault scenarios to
// show memory over time and that nothing leaks: no process outlives its tree, no socket stays open.
// Process table from `ps` (Linux and macOS); descriptors from /proc (Linux only: undefined elsewhere).
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';

export interface ProcRow {
  readonly pid: number;
  readonly ppid: number;
  readonly rssKb: number;
  /** ps's state letters (Z: a zombie, exited but not reaped). */
  readonly stat: string;
  readonly command: string;
}

/** Every process on the machine, by pid. */
export function processTable(): Map<number, ProcRow> {
  const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,rss=,stat=,args='], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const rows = new Map<number, ProcRow>();
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    rows.set(Number(m[1]), { pid: Number(m[1]), ppid: Number(m[2]), rssKb: Number(m[3]), stat: m[4]!, command: m[5]! });
  }
  return rows;
}

/** `root` and every process below it (children, grandchildren…), root first. */
export function processTree(root: number, table = processTable()): ProcRow[] {
  const children = new Map<number, ProcRow[]>();
  for (const r of table.values()) {
    const list = children.get(r.ppid);
    if (list === undefined) children.set(r.ppid, [r]);
    else list.push(r);
  }
  const top = table.get(root);
  if (top === undefined) return [];
  const out: ProcRow[] = [];
  const stack = [top];
  for (let r = stack.pop(); r !== undefined; r = stack.pop()) {
    out.push(r);
    stack.push(...(children.get(r.pid) ?? []));
  }
  return out;
}

/** The pids of `pids` still alive (zombies — exited, not yet reaped — count as gone): one `ps` call. */
export function alivePids(pids: readonly number[], table = processTable()): number[] {
  return pids.filter((pid) => {
    const row = table.get(pid);
    return row !== undefined && !row.stat.startsWith('Z');
  });
}

export interface Descriptors {
  readonly fds: number;
  readonly sockets: number;
}

/** Open descriptors and how many are sockets; undefined where /proc is not available or readable. */
export function descriptors(pid: number): Descriptors | undefined {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  let sockets = 0;
  for (const n of names) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${n}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between the listing and the readlink
    }
  }
  return { fds: names.length, sockets };
}
