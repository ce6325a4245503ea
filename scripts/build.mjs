// `npm run build`: the installable package's contents, in dist/ (also run by `npm pack`, as prepack).
//   1. tsc -p tsconfig.build.json: the TypeScript (tests, benches and test helpers left out) compiled
//      to dist/, laid out as the source tree;
//   2. the assets the compiled code reads next to itself: live/proto/*.proto, the example gateway
//      config, and the python runtime (python/: mlx_runtime's sources and corpus, its pyproject.toml,
//      requirements and scripts; no venv, caches or tests), which the worker node runs and which
//      `pip install dist/python` turns into the python package;
//   3. the command made executable (npm does it on install too).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const log = (m) => process.stderr.write(`[build] ${m}\n`);

rmSync(DIST, { recursive: true, force: true });
log('tsc -p tsconfig.build.json');
const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  log(`tsc failed (status ${tsc.status})`);
  process.exit(1);
}

const copy = (from, to = from, filter = () => true) => cpSync(join(ROOT, from), join(DIST, to), { recursive: true, filter: (src) => filter(src) });
for (const proto of readdirSync(join(ROOT, 'live/proto')).filter((f) => f.endsWith('.proto'))) copy(`live/proto/${proto}`);
copy('live/gateway/gateway.example.json');

// python/: what the runtime needs and what pip needs to install it; nothing a development checkout grows.
const PYTHON_SKIP = new Set(['.venv', '.cache', 'tests', 'tools', '__pycache__', '.pytest_cache', 'build', 'dist', '.gitignore',
  'run-tests.sh', 'setup-dev.sh', 'requirements-dev.txt', 'bench.sh']);
const pythonFilter = (src) => !PYTHON_SKIP.has(basename(src)) && !src.endsWith('.pyc') && !src.endsWith('.egg-info');
mkdirSync(join(DIST, 'python'), { recursive: true });
copy('python', 'python', pythonFilter);

chmodSync(join(DIST, 'cli/mlx-serving.js'), 0o755);
log(`done: ${DIST}`);
