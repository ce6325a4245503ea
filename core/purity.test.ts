// The sans-IO contract of core/ (DESIGN.md): no clock, no randomness of its own, no timers, no
// process, no I/O modules, no server/transport/RNG packages. Every non-test source file under core/
// is scanned; the scanner itself is checked on inline sources so that this test can fail.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CORE_DIR = dirname(fileURLToPath(import.meta.url));

/** Forbidden uses of ambient globals, matched in code with comments and string contents removed. */
const FORBIDDEN_CODE: readonly [RegExp, string][] = [
  [/\bDate\s*\.\s*now\b/, 'Date.now'],
  [/\bperformance\s*\.\s*now\b/, 'performance.now'],
  [/\bMath\s*\.\s*random\b/, 'Math.random'],
  [/\bsetTimeout\b/, 'setTimeout'],
  [/\bsetInterval\b/, 'setInterval'],
  [/\bsetImmediate\b/, 'setImmediate'],
  [/\bnew\s+Date\s*\(/, 'new Date('],
  [/\bprocess\s*\./, 'process.'],
];

const NODE_BUILTINS = new Set(['fs', 'path', 'net', 'http', 'https', 'http2', 'child_process', 'crypto', 'os', 'worker_threads', 'dgram', 'dns', 'tls', 'cluster', 'readline', 'perf_hooks', 'timers']);
const FORBIDDEN_PACKAGES = ['fastify', '@grpc/', 'nats', 'seedrandom'];

type Mode = 'code' | 'line' | 'block' | "'" | '"' | '`';

/**
 * Splits a TypeScript source into code without comments (`code`, strings kept, for import
 * specifiers) and the same with string/template contents blanked (`bare`, for identifiers).
 * Template literals with `${…}` are followed to any depth. Regex literals are not recognised,
 * which is fine for core/ (none contains a quote or a comment marker).
 */
function stripSource(src: string): { code: string; bare: string } {
  let code = '';
  let bare = '';
  let mode: Mode = 'code';
  const templateDepth: number[] = []; // brace depth at which each open `${` returns to its template
  let braces = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    const next = src[i + 1];
    const emit = (keep: string, blank: string): void => {
      code += keep;
      bare += blank;
    };
    if (mode === 'line') {
      if (c === '\n') {
        mode = 'code';
        emit(c, c);
      }
      continue;
    }
    if (mode === 'block') {
      if (c === '*' && next === '/') {
        mode = 'code';
        i++;
        emit(' ', ' ');
      } else if (c === '\n') emit(c, c);
      continue;
    }
    if (mode === "'" || mode === '"' || mode === '`') {
      if (c === '\\') {
        emit(c + (next ?? ''), '  ');
        i++;
      } else if (c === mode) {
        mode = 'code';
        emit(c, c);
      } else if (mode === '`' && c === '$' && next === '{') {
        templateDepth.push(braces);
        braces++;
        mode = 'code';
        i++;
        emit('${', '${');
      } else emit(c, c === '\n' ? '\n' : ' ');
      continue;
    }
    // code
    if (c === '/' && next === '/') {
      mode = 'line';
      i++;
    } else if (c === '/' && next === '*') {
      mode = 'block';
      i++;
    } else if (c === "'" || c === '"' || c === '`') {
      mode = c;
      emit(c, c);
    } else {
      if (c === '{') braces++;
      if (c === '}') {
        braces--;
        if (templateDepth.length > 0 && templateDepth[templateDepth.length - 1] === braces) {
          templateDepth.pop();
          mode = '`';
        }
      }
      emit(c, c);
    }
  }
  return { code, bare };
}

/** Module specifiers a source imports, re-exports, requires or imports dynamically. */
function importSpecifiers(code: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\bfrom\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
    /\brequire\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[2]!);
  return out;
}

function forbiddenModule(spec: string): string | undefined {
  if (spec.startsWith('node:')) return `imports ${spec}`;
  if (NODE_BUILTINS.has(spec.split('/')[0]!)) return `imports node builtin ${spec}`;
  for (const p of FORBIDDEN_PACKAGES) {
    if (p.endsWith('/') ? spec.startsWith(p) : spec === p || spec.startsWith(`${p}/`)) return `imports ${spec}`;
  }
  return undefined;
}

/** Every violation of the sans-IO contract in one source text. */
function findImpurities(source: string): string[] {
  const { code, bare } = stripSource(source);
  const found: string[] = [];
  for (const [re, what] of FORBIDDEN_CODE) if (re.test(bare)) found.push(`uses ${what}`);
  for (const spec of importSpecifiers(code)) {
    const why = forbiddenModule(spec);
    if (why !== undefined) found.push(why);
  }
  return found;
}

/** Non-test, non-bench .ts files under dir (the files the lint purity rule covers). */
function coreSources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && !(dir === CORE_DIR && e.name === 'bench')) out.push(...coreSources(p));
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.bench.ts') && !e.name.endsWith('.d.ts')) {
      out.push(p);
    }
  }
  return out;
}

describe('core/ purity', () => {
  const files = coreSources(CORE_DIR);

  it('finds the core sources', () => {
    const rel = files.map((f) => relative(CORE_DIR, f).split('\\').join('/'));
    expect(rel).toContain('routing/jump-hash.ts');
    expect(rel).toContain('memory/governor.ts');
    expect(rel.some((f) => f.endsWith('.test.ts'))).toBe(false);
    expect(files.length).toBeGreaterThan(30);
  });

  it('no core source reads the clock, draws randomness, sets timers, touches process or imports I/O', () => {
    const violations: string[] = [];
    for (const f of files) {
      for (const v of findImpurities(readFileSync(f, 'utf8'))) violations.push(`${relative(CORE_DIR, f)}: ${v}`);
    }
    expect(violations).toEqual([]);
  });
});

describe('the purity scanner', () => {
  it.each([
    ['const t = Date.now();', 'uses Date.now'],
    ['const t = Date . now();', 'uses Date.now'],
    ['const t = performance.now();', 'uses performance.now'],
    ['const r = Math.random();', 'uses Math.random'],
    ['setTimeout(() => 0, 5);', 'uses setTimeout'],
    ['const h = setInterval(f, 5);', 'uses setInterval'],
    ['setImmediate(f);', 'uses setImmediate'],
    ['const d = new Date();', 'uses new Date('],
    ['const d = new Date(0);', 'uses new Date('],
    ['const e = process.env.X;', 'uses process.'],
    ["import { readFileSync } from 'node:fs';", 'imports node:fs'],
    ["import type { Socket } from 'node:net';", 'imports node:net'],
    ["import * as fs from 'fs';", 'imports node builtin fs'],
    ["import { join } from 'path';", 'imports node builtin path'],
    ["import { createHash } from 'crypto';", 'imports node builtin crypto'],
    ["import os from 'os';", 'imports node builtin os'],
    ["import { spawn } from 'child_process';", 'imports node builtin child_process'],
    ["import http from 'http';", 'imports node builtin http'],
    ["import net from 'net';", 'imports node builtin net'],
    ["import { readFile } from 'fs/promises';", 'imports node builtin fs/promises'],
    ["export { x } from 'node:os';", 'imports node:os'],
    ["const m = await import('node:fs');", 'imports node:fs'],
    ["const fs = require('fs');", 'imports node builtin fs'],
    ["import 'seedrandom';", 'imports seedrandom'],
    ["import Fastify from 'fastify';", 'imports fastify'],
    ["import cors from 'fastify/cors';", 'imports fastify/cors'],
    ["import * as grpc from '@grpc/grpc-js';", 'imports @grpc/grpc-js'],
    ["import { connect } from 'nats';", 'imports nats'],
    ["import seedrandom from 'seedrandom';", 'imports seedrandom'],
    ['const s = `at ${Date.now()}`;', 'uses Date.now'],
    ['const s = `a ${`b ${Math.random()}`}`;', 'uses Math.random'],
  ])('flags %s', (src, expected) => {
    expect(findImpurities(src)).toContain(expected);
  });

  it('accepts pure code, and mentions in comments or strings', () => {
    const clean = [
      "// core/ never calls Date.now, Math.random or setTimeout; see the lint rule",
      '/* process.env and new Date() are for drivers; import x from "node:fs" is not allowed here */',
      "import { fnv1a32 } from '../util/hash.js';",
      "import type { Rng } from './types.js';",
      "export function f(nowMs: number, rng: Rng): number { return nowMs + rng(); }",
      "const msg = 'use nowMs instead of Date.now()';",
      'const t = `no ${"Math.random"} here`;',
      'const url = "http://example.com"; // a string with // inside',
      'const dateNow = 1; const myprocess = { x: 1 }; const randomness = myprocess.x;',
      "const name = 'fastify'; const pkg = 'seedrandom'; const osName = 'os';",
    ].join('\n');
    expect(findImpurities(clean)).toEqual([]);
  });

  it('sees code after a comment or a string ends', () => {
    expect(findImpurities('/* a */ Date.now();')).toEqual(['uses Date.now']);
    expect(findImpurities("const s = 'x'; Math.random();")).toEqual(['uses Math.random']);
    expect(findImpurities('// comment\nsetTimeout(f);')).toEqual(['uses setTimeout']);
    expect(findImpurities('const s = `a${b}c`; process.exit(1);')).toEqual(['uses process.']);
  });
});
