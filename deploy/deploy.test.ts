// The deployment files of deploy/ (issue 18), each checked by a real tool where one runs here:
//   systemd units       `systemd-analyze verify --root` (a scratch root with the host's stock units
//                       and an `mlx-serving` executable at ExecStart's path), no warning allowed
//   launchd plist       install-worker.sh --print reproduces the committed plist; python's plistlib
//                       parses it (well-formed XML plist) and the keys launchd needs are there;
//                       shellcheck on the script
//   compose file        `docker-compose config` (the compose schema and interpolation)
//   prometheus.yml      `promtool check config` (its rule_files glob included)
//   gateway.json        the gateway's own config validation (resolveLiveConfig)
// The tools come from the vitest global set-up (live/shared/test-prereqs.ts ensureDeployTools).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveLiveConfig } from '../live/shared/config.js';
import { DEPLOY_DIR } from './promql-names.js';

const scratch: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(d);
  return d;
}
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? DEPLOY_DIR, env: opts.env ?? process.env, input: opts.input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

describe('systemd units', () => {
  const units = ['mlx-serving-gateway.service', 'mlx-serving-worker.service'];

  function scratchRoot(): string {
    const root = tempDir('mlx-systemd-');
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/bin/mlx-serving'), '#!/bin/sh\n');
    chmodSync(join(root, 'usr/bin/mlx-serving'), 0o755);
    return root;
  }

  it('systemd-analyze verify passes without a warning', () => {
    const root = scratchRoot();
    for (const u of units) cpSync(join(DEPLOY_DIR, 'systemd', u), join(root, 'etc/systemd/system', u));
    const r = run('systemd-analyze', ['verify', `--root=${root}`, ...units.map((u) => `/etc/systemd/system/${u}`)]);
    expect(r.stderr.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('systemd-analyze verify is a real check: a bad directive is reported', () => {
    const root = scratchRoot();
    const text = readFileSync(join(DEPLOY_DIR, 'systemd', units[0] ?? ''), 'utf8').replace('Type=simple', 'Type=simpel');
    writeFileSync(join(root, 'etc/systemd/system', units[0] ?? ''), text);
    expect(run('systemd-analyze', ['verify', `--root=${root}`, `/etc/systemd/system/${units[0]}`]).stderr).toContain('simpel');
  });

  it('ExecStart runs the installed command: mlx-serving gateway --config … / mlx-serving worker …', () => {
    const exec = (u: string) => /^ExecStart=(.*)$/m.exec(readFileSync(join(DEPLOY_DIR, 'systemd', u), 'utf8'))?.[1] ?? '';
    expect(exec('mlx-serving-gateway.service')).toMatch(/^\/usr\/bin\/mlx-serving gateway --config \/etc\/mlx-serving\/gateway\.json$/);
    expect(exec('mlx-serving-worker.service')).toMatch(/^\/usr\/bin\/mlx-serving worker --id \S+ .*--model \S+=\S+/);
  });
});

describe('launchd worker', () => {
  const script = join(DEPLOY_DIR, 'launchd', 'install-worker.sh');
  const example = ['--id', 'mac-2', '--model', 'llama=/Users/Shared/models/llama', '--address', '0.0.0.0:50051', '--nats', 'nats://gateway.lan:4222',
    '--python', '/Users/mlx/.mlx-serving/bin/python', '--mlx-serving', '/opt/homebrew/bin/mlx-serving', '--metrics-address', '0.0.0.0:9464', '--home', '/Users/mlx'];

  /** The plist as python's plistlib reads it (the parser of Apple's format in the standard library). */
  function plistlib(text: string): Record<string, unknown> {
    const r = run('python3', ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], { input: text });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  it('the committed plist is install-worker.sh --print of the example', () => {
    const r = run('bash', [script, '--print', ...example]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(DEPLOY_DIR, 'launchd', 'com.mlx-serving.worker.plist'), 'utf8')).toBe(r.stdout);
  });

  it('is a well-formed plist with the keys launchd needs', () => {
    const p = plistlib(readFileSync(join(DEPLOY_DIR, 'launchd', 'com.mlx-serving.worker.plist'), 'utf8'));
    expect(p.Label).toBe('com.mlx-serving.worker');
    const args = p.ProgramArguments as string[];
    expect(args.slice(0, 2)).toEqual(['/opt/homebrew/bin/mlx-serving', 'worker']);
    expect(args).toEqual(expect.arrayContaining(['--id', 'mac-2', '--model', 'llama=/Users/Shared/models/llama', '--nats', 'nats://gateway.lan:4222', '--metrics-address', '0.0.0.0:9464']));
    expect(p.RunAtLoad).toBe(true);
    expect(p.KeepAlive).toEqual({ SuccessfulExit: false });
    expect((p.EnvironmentVariables as Record<string, string>).PATH).toMatch(/^\/Users\/mlx\/\.mlx-serving\/bin:/);
    for (const k of ['StandardOutPath', 'StandardErrorPath', 'WorkingDirectory', 'ExitTimeOut']) expect(p, k).toHaveProperty(k);
  });

  it('shellcheck finds nothing in install-worker.sh', () => {
    const r = run('shellcheck', [script]);
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('escapes XML in arguments and refuses a missing --id or a relative command', () => {
    const r = run('bash', [script, '--print', '--id', 'a&b', '--model', 'm=/models/<x>', '--mlx-serving', '/bin/mlx-serving', '--home', '/Users/x']);
    expect(r.status, r.stderr).toBe(0);
    expect((plistlib(r.stdout).ProgramArguments as string[]).slice(3)).toEqual(['a&b', '--address', '0.0.0.0:50051', '--model', 'm=/models/<x>', '--python', '/Users/x/.mlx-serving/bin/python']);
    expect(run('bash', [script, '--print', '--model', 'm=/x']).status).toBe(2);
    expect(run('bash', [script, '--print', '--id', 'x', '--model', 'm=/x', '--mlx-serving', 'mlx-serving']).status).toBe(2);
  });
});

describe('docker compose: gateway + NATS + Prometheus + Grafana', () => {
  const dir = join(DEPLOY_DIR, 'compose');
  const env = { ...process.env, MLX_SERVING_API_KEYS: 'sk-a', MLX_SERVING_METRICS_KEY: 'sk-m', MLX_SERVING_ADMIN_KEY: 'sk-admin', GRAFANA_ADMIN_PASSWORD: 'pw' };

  it('docker-compose config accepts the file and resolves the four services', () => {
    const r = run('docker-compose', ['-f', 'compose.yaml', 'config', '--services'], { cwd: dir, env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['gateway', 'grafana', 'nats', 'prometheus']);
  });

  it('docker-compose config is a real check: an unknown key and a missing secret are refused', () => {
    const bad = tempDir('mlx-compose-');
    writeFileSync(join(bad, 'compose.yaml'), readFileSync(join(dir, 'compose.yaml'), 'utf8').replace('    restart: unless-stopped\n', '    restart: unless-stopped\n    restrat: always\n'));
    expect(run('docker-compose', ['-f', 'compose.yaml', 'config', '-q'], { cwd: bad, env }).status).not.toBe(0);
    const { MLX_SERVING_ADMIN_KEY: _, ...noAdmin } = env;
    const r = run('docker-compose', ['-f', 'compose.yaml', 'config', '-q'], { cwd: dir, env: noAdmin });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('MLX_SERVING_ADMIN_KEY');
  });

  it('the gateway config it mounts passes the gateway\'s own validation', () => {
    const cfg = resolveLiveConfig(JSON.parse(readFileSync(join(dir, 'gateway.json'), 'utf8')));
    expect(cfg.registry).toMatchObject({ type: 'nats', url: 'nats://nats:4222' });
    expect(cfg.listen.host).toBe('0.0.0.0');
  });

  it('promtool check config accepts the Prometheus config it mounts, rules included', () => {
    // the layout of the container: prometheus.yml, rules/, metrics-key side by side
    const etc = tempDir('mlx-promcfg-');
    cpSync(join(DEPLOY_DIR, 'prometheus', 'prometheus.yml'), join(etc, 'prometheus.yml'));
    symlinkSync(join(DEPLOY_DIR, 'prometheus', 'rules'), join(etc, 'rules'));
    writeFileSync(join(etc, 'metrics-key'), 'sk-m');
    const r = run('promtool', ['check', 'config', join(etc, 'prometheus.yml')]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('Grafana is provisioned with the Prometheus data source and the dashboards folder', () => {
    const compose = readFileSync(join(dir, 'compose.yaml'), 'utf8');
    expect(compose).toContain('../grafana:/var/lib/grafana/dashboards/mlx-serving:ro');
    expect(readFileSync(join(dir, 'grafana/provisioning/dashboards/mlx-serving.yml'), 'utf8')).toContain('path: /var/lib/grafana/dashboards/mlx-serving');
    expect(readFileSync(join(dir, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')).toContain('url: http://prometheus:9090');
  });
});
