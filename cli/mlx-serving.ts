#!/usr/bin/env node
// `mlx-serving`: the one command of the installed package (package.json `bin`, built to
// dist/cli/mlx-serving.js by `npm run build`). It dispatches to the project's existing commands;
// each subcommand is the same code that `npm run …` / `tsx …` runs in a clone, so the two never
// drift. In a clone it also runs from source: `npx tsx cli/mlx-serving.ts worker --help`.
//
// One precedence rule for settings: flags > environment > config file > defaults. The environment
// reaches a subcommand as the flag it stands for (ENV_FLAGS below), added only when that flag is not
// on the command line; the subcommand then lays its flags over its config file.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT } from '../live/shared/install.js';
import { buildModelEnv } from '../live/shared/model.js';
import { PYTHON_DIR, PythonNotFoundError } from '../live/shared/python.js';
import { withEnvFlags, type EnvFlags } from './env-flags.js';

interface Command {
  readonly summary: string;
  /** Environment variables and the flag each stands for (used when the flag is absent). */
  readonly env: EnvFlags;
  readonly run: (args: string[]) => Promise<number | undefined>;
}

/**
 * Runs a command module that parses process.argv and runs at import (the existing CLIs): argv is set
 * to what it would see as `node <module> ARGS`. It exits by itself (a server: on SIGTERM), so the
 * dispatcher returns undefined and leaves the process to it.
 */
async function runModule(load: () => Promise<unknown>, module: string, args: string[]): Promise<undefined> {
  process.argv = [process.argv[0]!, module, ...args];
  await load();
  return undefined;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  gateway: {
    summary: 'the OpenAI-compatible HTTP gateway in front of worker nodes (config file: JSON)',
    env: [['MLX_SERVING_CONFIG', '--config'], ['MLX_SERVING_HOST', '--host'], ['MLX_SERVING_PORT', '--port'], ['MLX_SERVING_LOG_LEVEL', '--log-level']],
    run: (args) => runModule(() => import('../live/gateway/main.js'), 'gateway', args),
  },
  worker: {
    summary: 'a worker node: gRPC server over python MLX runtimes, on a Mac (or any MLX host)',
    env: [['MLX_SERVING_WORKER_CONFIG', '--config'], ['MLX_SERVING_WORKER_ID', '--id'], ['MLX_SERVING_WORKER_ADDRESS', '--address'],
      ['MLX_SERVING_NATS_URL', '--nats'], ['MLX_SERVING_WORKER_METRICS_ADDRESS', '--metrics-address'], ['MLX_SERVING_LOG_LEVEL', '--log-level']],
    run: (args) => runModule(() => import('../live/worker/main.js'), 'worker', args),
  },
  cluster: {
    summary: 'a whole local cluster on this machine (gateway, N worker nodes, optional NATS); `cluster restart --rolling`',
    env: [],
    run: (args) => runModule(() => import('../live/cli/cluster.js'), 'cluster', args),
  },
  scenario: {
    summary: 'run scenarios (sim, live or both): baseline vs candidate, report in ./reports/out',
    env: [],
    run: (args) => runModule(() => import('../scenarios/cli.js'), 'scenario', args),
  },
  calibrate: {
    summary: "measure this machine's MLX runtime and write a `local` profile for the simulator",
    env: [],
    run: async (args) => (await import('../scenarios/calibrate.js')).main(args),
  },
  'build-model': {
    summary: "build the project's own Llama-architecture model (tiny, small, gpu-1b, gpu-8b)",
    env: [],
    run: (args) => Promise.resolve(buildModel(args)),
  },
  reliability: {
    summary: 'fault scenarios and soaks on real processes; report in ./reports/out/reliability',
    env: [],
    run: (args) => runModule(() => import('../live/cli/reliability.js'), 'reliability', args),
  },
};

const BUILD_MODEL_HELP = `usage: mlx-serving build-model --size tiny|small|gpu-1b|gpu-8b --out DIR [--if-changed] [--describe]

Builds the project's Llama-architecture model from a fixed seed (python/mlx_runtime/build_model.py)
into DIR, loadable by mlx_lm like any other; --if-changed keeps an up-to-date build, --describe prints
its shape and size only. Runs on the runtime's python (see \`mlx-serving worker --help\`).
exit status: 0 built, 2 bad usage or no python, otherwise the builder's.`;

function buildModel(args: string[]): number {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${BUILD_MODEL_HELP}\n`);
    return 0;
  }
  const r = spawnSync('bash', [join(PYTHON_DIR, 'build-model.sh'), ...args], { stdio: 'inherit', env: buildModelEnv() });
  return r.status ?? 1;
}

function version(): string {
  // package.json is two folders up when built (dist/cli/), one in a clone (cli/).
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 4; dir = dirname(dir), i++) {
    const path = join(dir, 'package.json');
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'mlx-serving' && pkg.version !== undefined) return pkg.version;
  }
  return 'unknown';
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const commands = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n');
  const env = Object.entries(COMMANDS).flatMap(([name, c]) => c.env.map(([v, f]) => `  ${v.padEnd(27)}${name} ${f}`)).join('\n');
  return `usage: mlx-serving <command> [options]      (mlx-serving <command> --help for its options)

Serving stack for MLX models on fleets of Macs (version ${version()}${BUILT ? '' : ', run from source'}).

commands:
${commands}

options:
  --version  print the version
  --help     this text

cluster, scenario, calibrate and reliability print their usage as \`npm run <command> -- …\` (their
development form); \`mlx-serving <command> …\` takes the same options.

settings: flags > environment > config file > defaults. Environment variables stand for these flags
(used when the flag is not given):
${env}
  MLX_SERVING_API_KEYS       gateway: comma-separated API keys, added to the config file's auth.apiKeys
  MLX_SERVING_ADMIN_KEY      gateway: the admin key (over the config file's auth.adminKey)
  MLX_SERVING_PYTHON         worker, cluster, scenario, calibrate, build-model: the python interpreter
                             (a --python flag wins over it)
  MLX_SERVING_CACHE_DIR      where built models are cached (default ~/.cache/mlx-serving)
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER, OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME, …
                             gateway, worker and its runtimes: OpenTelemetry traces over OTLP/HTTP,
                             off unless an endpoint or OTEL_TRACES_EXPORTER=otlp is set (README, Tracing)

python runtime: --python PATH, else MLX_SERVING_PYTHON, else the interpreter of mlx-serving-runtime
on PATH (pip install ${PYTHON_DIR}; it pins the runtime's dependencies).

exit status: 0 success (a server: a clean shutdown after SIGTERM/SIGINT); 1 a failure (a missed
target, a lost request, a shutdown that failed); 2 bad usage or bad config, or a server that could not
start; 3 a live process failed during a scenario or calibration; 130 interrupted (scenario).
`;
}

async function main(argv: string[]): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && COMMANDS[topic] !== undefined) return COMMANDS[topic].run(['--help']);
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`mlx-serving: unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')}; see mlx-serving --help)\n`);
    return 2;
  }
  return command.run(withEnvFlags(rest, command.env, process.env));
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof PythonNotFoundError) {
      process.stderr.write(`mlx-serving: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`mlx-serving: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
