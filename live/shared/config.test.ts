// The live config: defaults, and errors that name the field.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/index.js';
import { loadLiveConfig, resolveLiveConfig } from './config.js';

function fieldOf(input: unknown): string {
  try {
    resolveLiveConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) return err.field;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('live config', () => {
  it('fills defaults and resolves the core section with core’s validator', () => {
    const c = resolveLiveConfig({ workers: [{ id: 'w1', address: 'unix:///tmp/w1.sock' }, { id: 'w2', address: '10.0.0.2:50051' }] });
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.limits.bodyLimitBytes).toBe(1024 * 1024);
    expect(c.core.health.heartbeatIntervalMs).toBe(5000);
    expect(c.workers).toHaveLength(2);
  });

  it('names the offending field', () => {
    expect(fieldOf({ listen: { port: 70000 } })).toBe('listen.port');
    expect(fieldOf({ limits: { bodyLimitBytes: 'big' } })).toBe('limits.bodyLimitBytes');
    expect(fieldOf({ limits: { bogus: 1 } })).toBe('limits.bogus');
    expect(fieldOf({ workers: [{ id: 'w1', address: 'not an address' }] })).toBe('workers[0].address');
    expect(fieldOf({ workers: [{ id: 'w1', address: 'h:1' }, { id: 'w1', address: 'h:2' }] })).toBe('workers[1].id');
    expect(fieldOf({ auth: { apiKeys: ['short'] } })).toBe('auth.apiKeys[0]');
    expect(fieldOf({ auth: { jwt: { hs256Secret: 'too-short' } } })).toBe('auth.jwt.hs256Secret');
    expect(fieldOf({ auth: { jwt: {} } })).toBe('auth.jwt');
    const hs = 'x'.repeat(32);
    expect(fieldOf({ auth: { jwt: { hs256Secret: hs, roles: ['operator'] } } })).toBe('auth.jwt.roles');
    expect(fieldOf({ auth: { jwt: { hs256Secret: hs, roleClaim: 'role', roles: ['user', 'root'] } } })).toBe('auth.jwt.roles[1]');
    expect(fieldOf({ auth: { jwt: { hs256Secret: hs, roleClaim: 'a role' } } })).toBe('auth.jwt.roleClaim');
    expect(fieldOf({ usage: { shared: { url: 'http://x', gatewayId: 'g' } } })).toBe('usage.shared.url');
    expect(fieldOf({ usage: { shared: { url: 'nats://x:4222' } } })).toBe('usage.shared.gatewayId');
    expect(fieldOf({ usage: { shared: { url: 'nats://x:4222', gatewayId: 'g w' } } })).toBe('usage.shared.gatewayId');
    expect(fieldOf({ usage: { shared: { url: 'nats://x:4222', gatewayId: 'g', bucket: 'a.b' } } })).toBe('usage.shared.bucket');
    expect(fieldOf({ usage: { shared: { url: 'nats://x:4222', gatewayId: 'g', syncMs: 1 } } })).toBe('usage.shared.syncMs');
    expect(fieldOf({ usage: { shared: { url: 'nats://x:4222', gatewayId: 'g', ttl: 1 } } })).toBe('usage.shared.ttl');
    expect(fieldOf({ canaryShared: { url: 'x' } })).toBe('canaryShared.url');
    expect(fieldOf({ canaryShared: { url: 'nats://x:4222', bucket: 'no spaces' } })).toBe('canaryShared.bucket');
    expect(fieldOf({ canaryShared: { url: 'nats://x:4222', syncMs: 0 } })).toBe('canaryShared.syncMs');
    expect(fieldOf({ core: { health: { heartbeatIntervalMs: -1 } } })).toBe('core.health.heartbeatIntervalMs');
    expect(fieldOf({ core: { nope: 1 } })).toBe('core.nope');
    expect(fieldOf({ logLevel: 'loud' })).toBe('logLevel');
  });

  it('never echoes a secret in the error', () => {
    expect(() => resolveLiveConfig({ auth: { apiKeys: ['sk-1'] } })).toThrow(/at least 8 characters$/);
  });

  it('loads a file and adds keys from the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    try {
      const path = join(dir, 'gw.json');
      writeFileSync(path, JSON.stringify({ auth: { apiKeys: ['sk-from-file-1'] } }));
      const c = loadLiveConfig(path, { MLX_SERVING_API_KEYS: 'sk-from-env-1, sk-from-env-2', MLX_SERVING_ADMIN_KEY: 'sk-admin-env-1' });
      expect(c.auth.apiKeys).toEqual(['sk-from-file-1', 'sk-from-env-1', 'sk-from-env-2']);
      expect(c.auth.adminKey).toBe('sk-admin-env-1');
      writeFileSync(path, '{not json');
      expect(() => loadLiveConfig(path)).toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lays command-line settings over the file, validated as the file is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    try {
      const path = join(dir, 'gw.json');
      writeFileSync(path, JSON.stringify({ listen: { host: '0.0.0.0', port: 8080 }, logLevel: 'info' }));
      expect(loadLiveConfig(path).listen).toEqual({ host: '0.0.0.0', port: 8080 });
      const c = loadLiveConfig(path, {}, { port: 9000, logLevel: 'warn' });
      expect(c.listen).toEqual({ host: '0.0.0.0', port: 9000 });
      expect(c.logLevel).toBe('warn');
      expect(loadLiveConfig(path, {}, { host: '127.0.0.1' }).listen).toEqual({ host: '127.0.0.1', port: 8080 });
      expect(() => loadLiveConfig(path, {}, { logLevel: 'loud' })).toThrow(/logLevel/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
