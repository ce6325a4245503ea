// One python MLX runtime process: `python -m mlx_runtime.server --model DIR --name ID …`, spoken to
// over stdio by a RuntimeClient. The process is ready once it answers `health` (the runtime starts
// reading stdin only after its start-up model loaded, so the first answer means "loaded").
//
// Stopping: `shutdown {mode: cancel}`, stdin closed, then SIGKILL after `stopTimeoutMs`. A runtime
// whose parent dies gets EOF on stdin and exits by itself, so a killed worker node leaves no
// python processes behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { PYTHON_DIR, pythonBin, pythonEnv, VENV_PYTHON } from '../shared/python.js';
import { RuntimeClient, RuntimeGoneError, type RuntimeHealth } from './runtime-client.js';

export { PYTHON_DIR };
/** python/.venv/bin/python; the interpreter actually used is MLX_SERVING_PYTHON when set (live/shared/python.ts). */
export const DEFAULT_PYTHON = VENV_PYTHON;

export interface RuntimeSpawnOptions {
  /** Model directory loaded at start-up, served under `modelId`. */
  readonly modelPath: string;
  readonly modelId: string;
  /** The interpreter (default: MLX_SERVING_PYTHON, else python/.venv/bin/python). */
  readonly pythonPath?: string;
  readonly maxSequences?: number;
  readonly maxKvBytes?: number;
  /** Sessions the runtime's prompt cache keeps (its --prompt-cache-entries); bounded by KV bytes too. */
  readonly promptCacheEntries?: number;
  readonly extraArgs?: readonly string[];
  /** Time allowed for start-up (imports + model load). */
  readonly readyTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  /** Each stderr line of the runtime (its logs). */
  readonly onLog?: (line: string) => void;
}

/** Lines of stderr kept for the error message when a runtime fails to start. */
const STDERR_TAIL_LINES = 20;

export class RuntimeProcess {
  readonly client: RuntimeClient;
  readonly pid: number | undefined;
  /** Resolves when the process has exited (code or signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  private exitedFlag = false;
  /** The runtime's `health` answer at start-up (device, mlx versions, BLAS); set once ready() resolved. */
  health: RuntimeHealth | undefined;

  constructor(private readonly opts: RuntimeSpawnOptions) {
    const args = ['-m', 'mlx_runtime.server', '--model', opts.modelPath, '--name', opts.modelId];
    if (opts.maxSequences !== undefined) args.push('--max-sequences', String(opts.maxSequences));
    if (opts.maxKvBytes !== undefined) args.push('--max-kv-bytes', String(opts.maxKvBytes));
    if (opts.promptCacheEntries !== undefined) args.push('--prompt-cache-entries', String(opts.promptCacheEntries));
    args.push(...(opts.extraArgs ?? []));
    this.child = spawn(opts.pythonPath ?? pythonBin(), args, {
      cwd: PYTHON_DIR,
      env: pythonEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.pid = this.child.pid;
    this.client = new RuntimeClient(this.child.stdin!, this.child.stdout!, { onProtocolError: (m) => opts.onLog?.(`[protocol] ${m}`) });
    let partial = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) this.onStderr(l);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitedFlag = true;
        this.client.close(`runtime exited (${signal ?? `code ${code}`})`);
        resolve({ code, signal });
      });
      this.child.once('error', (err) => {
        this.exitedFlag = true;
        this.client.close(`runtime failed to start: ${err.message}`);
        resolve({ code: null, signal: null });
      });
    });
  }

  get alive(): boolean {
    return !this.exitedFlag;
  }

  /** Waits for the start-up model to load; rejects (and kills the process) on failure. */
  async ready(): Promise<void> {
    const timeoutMs = this.opts.readyTimeoutMs ?? 120_000;
    try {
      this.health = await Promise.race([
        this.client.call('health', {}, { timeoutMs }),
        this.exited.then(({ code, signal }) => { throw new RuntimeGoneError(`runtime exited during start-up (${signal ?? `code ${code}`})`); }),
      ]);
    } catch (err) {
      this.kill();
      const tail = this.stderrTail.join('\n');
      throw new RuntimeGoneError(`${(err as Error).message}${tail.length > 0 ? `\n${tail}` : ''}`, { cause: err });
    }
  }

  /** Graceful stop: cancel in-flight work, close stdin, SIGKILL past stopTimeoutMs. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.client.notify('shutdown', { mode: 'cancel' });
    this.child.stdin?.end();
    const timer = setTimeout(() => this.kill(), this.opts.stopTimeoutMs ?? 3_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL (a crash, as the worker node sees it; also the last resort of stop()). */
  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  private onStderr(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.opts.onLog?.(line);
  }
}
