// Test support for the worker (not part of the public API): the tiny model, built once into a
// git-ignored cache shared by every test file and process (a lock directory serialises builds).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PYTHON_DIR } from './runtime-process.js';

export const TINY_MODEL_DIR = join(PYTHON_DIR, '.cache', 'models', 'tiny');
const LOCK_DIR = join(PYTHON_DIR, '.cache', 'models', '.tiny.lock');
/** A lock older than this is left over by a killed build. */
const LOCK_STALE_MS = 120_000;

/** Builds (or reuses) the tiny model; returns its directory. */
export function ensureTinyModel(): string {
  mkdirSync(join(PYTHON_DIR, '.cache', 'models'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch {
      if (existsSync(LOCK_DIR) && Date.now() - statSync(LOCK_DIR).mtimeMs > LOCK_STALE_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`tiny model lock ${LOCK_DIR} held too long`);
      spawnSync('sleep', ['0.2']);
    }
  }
  try {
    // build-model.sh reuses an up-to-date build (it stamps the output), so this is ~1 s when cached.
    const r = spawnSync('bash', [join(PYTHON_DIR, 'build-model.sh'), '--size', 'tiny', '--out', TINY_MODEL_DIR], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`build-model.sh failed (${r.status}): ${r.stderr}`);
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
  return TINY_MODEL_DIR;
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 10): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
