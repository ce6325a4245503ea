// The pure pieces of `mlx-serving`'s settings: the environment standing for flags (flags win), and
// the interpreter read from a `mlx-serving-runtime` console script in each form pip writes.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interpreterOfScript, runtimePythonOnPath } from '../live/shared/python.js';
import { withEnvFlags } from './env-flags.js';

describe('withEnvFlags (flags > environment)', () => {
  const map = [['MLX_SERVING_PORT', '--port'], ['MLX_SERVING_HOST', '--host']] as const;

  it('adds the flag of each set variable the command line lacks', () => {
    expect(withEnvFlags(['--config', 'g.json'], map, { MLX_SERVING_PORT: '9000' })).toEqual(['--config', 'g.json', '--port', '9000']);
  });

  it('keeps a flag given on the command line, in both spellings', () => {
    expect(withEnvFlags(['--port', '1'], map, { MLX_SERVING_PORT: '9000' })).toEqual(['--port', '1']);
    expect(withEnvFlags(['--port=1'], map, { MLX_SERVING_PORT: '9000' })).toEqual(['--port=1']);
  });

  it('ignores unset and blank variables', () => {
    expect(withEnvFlags([], map, { MLX_SERVING_HOST: ' ' })).toEqual([]);
  });
});

describe('interpreterOfScript', () => {
  it('reads #!/path/python', () => {
    expect(interpreterOfScript('#!/opt/venv/bin/python3.11\n# -*- coding: utf-8 -*-\nimport sys\n')).toBe('/opt/venv/bin/python3.11');
  });

  it("reads pip's /bin/sh trampoline (a path with spaces or too long for #!)", () => {
    expect(interpreterOfScript(`#!/bin/sh\n'''exec' "/Users/a b/venv/bin/python" "$0" "$@"\n' '''\n`)).toBe('/Users/a b/venv/bin/python');
    expect(interpreterOfScript(`#!/bin/sh\n'''exec' /very/long/venv/bin/python "$0" "$@"\n' '''\n`)).toBe('/very/long/venv/bin/python');
  });

  it('reads #!/usr/bin/env python3, and nothing from a file without #!', () => {
    expect(interpreterOfScript('#!/usr/bin/env python3\n')).toBe('python3');
    expect(interpreterOfScript('#!/usr/bin/env -S python3 -u\n')).toBe('python3');
    expect(interpreterOfScript('ELF\u0000')).toBeUndefined();
  });

  it('finds the first executable mlx-serving-runtime on PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlx-runtime-path-'));
    try {
      const [a, b] = [join(dir, 'a'), join(dir, 'b')];
      mkdirSync(a);
      mkdirSync(b);
      writeFileSync(join(a, 'mlx-serving-runtime'), '#!/not/executable/python\n'); // not executable: skipped
      writeFileSync(join(b, 'mlx-serving-runtime'), '#!/opt/venv/bin/python\n');
      chmodSync(join(b, 'mlx-serving-runtime'), 0o755);
      expect(runtimePythonOnPath({ PATH: `${a}:${b}` })).toBe('/opt/venv/bin/python');
      expect(runtimePythonOnPath({ PATH: a })).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
