// Where this copy of mlx-serving runs from: a clone (TypeScript run by tsx: `npm run …`, the tests) or
// the built package (`npm run build`: compiled JavaScript under dist/, what `npm install` of the
// package and its `mlx-serving` command run). The two differ in three places only:
//   - a child Node process (worker node, gateway) is started through tsx in a clone, as plain JS built;
//   - the python runtime's interpreter: python/.venv in a clone, found on PATH when built (python.ts);
//   - caches and reports: inside the clone, or the user's cache directory and the working directory
//     when built (never inside node_modules, which may be read-only).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when this module is compiled JavaScript (dist/), false under tsx in a clone. */
export const BUILT = import.meta.url.endsWith('.js');

/** The clone's root, or dist/ in the built package (both hold live/, python/, scenarios/, …). */
export const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));

/** The Node entry points that the project starts as child processes. */
export type NodeEntry = 'live/worker/main' | 'live/gateway/main' | 'live/echo/main';

/** `node` arguments that run `entry`: through tsx in a clone, the compiled file when built. */
export function nodeEntryArgs(entry: NodeEntry): string[] {
  return BUILT ? [join(ROOT_DIR, `${entry}.js`)] : ['--import', 'tsx', join(ROOT_DIR, `${entry}.ts`)];
}

export const CACHE_DIR_ENV_VAR = 'MLX_SERVING_CACHE_DIR';

/**
 * Where built models are cached: python/.cache in a clone; when built, MLX_SERVING_CACHE_DIR, else
 * $XDG_CACHE_HOME/mlx-serving, else ~/.cache/mlx-serving.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (!BUILT) return join(ROOT_DIR, 'python', '.cache');
  const explicit = env[CACHE_DIR_ENV_VAR]?.trim();
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env.XDG_CACHE_HOME?.trim();
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'mlx-serving');
}

/** Where a command writes its reports by default: the clone's root, or the working directory when built. */
export function outputRoot(): string {
  return BUILT ? process.cwd() : ROOT_DIR;
}
