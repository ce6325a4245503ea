// The processes of a live run, each in its own process group (spawned detached), so stopping one
// stops everything it started (a worker node's python runtimes, mlx_lm.server's threads). Stop =
// SIGTERM to the leader, then SIGKILL to the group after a grace period and once the leader is gone.
// A process 'exit' hook SIGKILLs whatever is left, so even a crash of the runner leaves no stray
// process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** Lines of stderr kept per process, for error messages. */
const STDERR_LINES_MAX = 40;
const STOP_GRACE_MS = 8_000;

export class LiveRunError extends Error {
  override name = 'LiveRunError';
  /** 'input': bad input (port in use, missing model; exit 2); 'fault': a process failed (exit 3). */
  constructor(readonly kind: 'input' | 'fault' | 'interrupted', message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;
  /** The first stderr line matching the process's `fatal` pattern (a server whose worker thread died). */
  fatalLine: string | undefined;
  private readonly tail: string[] = [];
  private stopping = false;

  constructor(readonly name: string, readonly child: ChildProcess, onLine?: (line: string) => void, fatal?: RegExp) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.on('error', (err) => {
        this.tail.push(`spawn error: ${err.message}`);
        this.exit ??= { code: -1, signal: null };
        resolve(this.exit);
      });
    });
    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (l.trim().length === 0) continue;
        this.tail.push(l);
        if (this.tail.length > STDERR_LINES_MAX) this.tail.shift();
        if (fatal !== undefined && this.fatalLine === undefined && fatal.test(l)) this.fatalLine = l;
        onLine?.(l);
      }
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether it ended without being asked to. */
  get diedUnexpectedly(): boolean {
    return this.exit !== undefined && !this.stopping;
  }

  stderrTail(lines = 12): string {
    return this.tail.slice(-lines).join('\n');
  }

  describeExit(): string {
    const e = this.exit;
    if (e === undefined) return this.fatalLine !== undefined ? `${this.name} (pid ${this.pid}) failed` : `${this.name} is running`;
    return `${this.name} (pid ${this.pid}) exited with ${e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`}`;
  }

  signalGroup(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || this.exit !== undefined && sig !== 'SIGKILL') return;
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone already
    }
  }

  /**
   * SIGTERM to the leader only (a worker node drains, then stops its python runtimes itself: a
   * SIGTERM to the whole group would stop the runtimes under its in-flight requests); SIGKILL to the
   * group after the grace period. Resolves once the leader has exited.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    if (this.exit === undefined) {
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(killer);
    }
    // Children of the leader that outlived it (they share its group id).
    this.signalGroup('SIGKILL');
  }
}

/** Every process a live run started; stopAll in reverse start order. */
export class ProcessSet {
  private readonly procs: ManagedProcess[] = [];
  private readonly onExit = () => {
    for (const p of this.procs) p.signalGroup('SIGKILL');
  };

  constructor() {
    process.on('exit', this.onExit);
  }

  /** `stdinPipe`: the child's stdin is a pipe from this process, which closes when this process
   *  dies however it dies (even SIGKILL, when the exit hook cannot run): a child that shuts down on
   *  EOF (worker nodes with --exit-with-parent, python runtimes) never outlives its parent. */
  start(name: string, command: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; fatal?: RegExp; stdinPipe?: boolean } = {}): ManagedProcess {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: [opts.stdinPipe === true ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const p = new ManagedProcess(name, child, opts.onLine, opts.fatal);
    this.procs.push(p);
    return p;
  }

  get all(): readonly ManagedProcess[] {
    return this.procs;
  }

  async stopAll(): Promise<void> {
    const list = this.procs.splice(0).reverse();
    await Promise.all(list.map((p) => p.stop()));
    if (this.procs.length === 0) process.off('exit', this.onExit);
  }
}

/** Waits for a JSON line with `ready: true` on stdout; fails when the process exits or time runs out. */
export function waitForReadyLine(p: ManagedProcess, timeoutMs: number, signal?: AbortSignal): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let partial = '';
    const done = (err?: Error, value?: Record<string, unknown>) => {
      clearTimeout(timer);
      p.child.stdout?.off('data', onData);
      signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(value!);
    };
    const onData = (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        try {
          const o = JSON.parse(l) as Record<string, unknown>;
          if (o.ready === true) return done(undefined, o);
        } catch {
          // not a JSON line
        }
      }
    };
    const onAbort = () => done(new LiveRunError('interrupted', `interrupted while starting ${p.name}`));
    const timer = setTimeout(() => done(new LiveRunError('fault', `${p.name} did not become ready within ${timeoutMs} ms\n${p.stderrTail()}`)), timeoutMs);
    p.child.stdout?.on('data', onData);
    signal?.addEventListener('abort', onAbort, { once: true });
    void p.exited.then(() => done(new LiveRunError('fault', `${p.describeExit()} before it was ready:\n${p.stderrTail()}`)));
  });
}

/** Polls `url` until it answers 200; fails when the process exits or time runs out. */
export async function waitForHttp(p: ManagedProcess, url: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted === true) throw new LiveRunError('interrupted', `interrupted while starting ${p.name}`);
    if (p.exit !== undefined || p.fatalLine !== undefined) throw new LiveRunError('fault', `${p.describeExit()} before it was ready:\n${p.stderrTail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new LiveRunError('fault', `${p.name} did not answer ${url} within ${timeoutMs} ms\n${p.stderrTail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Fails with a clear message when `port` cannot be bound on `host`. */
export function checkPortFree(port: number, host: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      reject(new LiveRunError('input', err.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use (wanted for ${what}); free it or choose other ports with --port-base` : `cannot bind ${host}:${port} for ${what}: ${err.message}`));
    });
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve()));
  });
}

/** A port the OS says is free now (bound to 0, then released). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
