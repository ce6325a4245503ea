// Starts a local `nats-server -js` (Debian package nats-server) on a free loopback port with its own
// JetStream store directory; used by the tests and by `npm run cluster -- --nats`. stop() kills it
// and removes the store. It runs under a small `sh` guard that kills it when our end of the guard's
// stdin closes, so it does not outlive this process even when this process is SIGKILLed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  readonly url: string;
  /** The guard shell's pid (nats-server is its child). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface NatsServerOptions {
  readonly binary?: string;
  readonly readyTimeoutMs?: number;
  /** A fixed port (restart tests: the same URL again); a free port by default. */
  readonly port?: number;
  /** An existing JetStream store directory, kept on stop (restart tests); a fresh one, removed on stop, by default. */
  readonly storeDir?: string;
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const port = opts.port ?? (await freePort());
  const ownStore = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'mlx-nats-'));
  const removeStore = () => {
    if (ownStore) rmSync(storeDir, { recursive: true, force: true });
  };
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir];
  const guard = '"$0" "$@" & p=$!; cat > /dev/null; kill $p 2>/dev/null; wait $p';
  const child = spawn('sh', ['-c', guard, opts.binary ?? 'nats-server', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  const killOnExit = () => child.stdin?.end();
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server not ready in time:\n${log}`)), opts.readyTimeoutMs ?? 10_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`nats-server failed to start (is the Debian package nats-server installed?): ${err.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (code ${code}):\n${log}`));
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        if (log.length < 20_000) log += chunk;
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (err) {
    child.stdin?.end();
    child.kill('SIGKILL');
    removeStore();
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end(); // the guard kills nats-server (SIGTERM) and exits when it has
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
      removeStore();
    },
  };
}
