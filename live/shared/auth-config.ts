// The live config's `auth` section: API keys, tenants' keys, the admin and operator keys, JWTs (and their roles).
import { ConfigError } from '../../core/index.js';
import { isTenantName, TENANT_NAME_RULE } from '../../core/config/tenant-name.js';
import type { AuthConfig, JwtConfig } from './config.js';
import { arr, known, obj, secret, str } from './config-fields.js';

export function resolveAuth(auth: Record<string, unknown>): AuthConfig {
  const keys = arr('auth.apiKeys', auth.apiKeys ?? []).map((k, i) => secret(`auth.apiKeys[${i}]`, k));
  if (keys.length > 10_000) throw new ConfigError('auth.apiKeys', 'must hold at most 10000 keys');
  const out: { apiKeys: string[]; adminKey?: string; operatorKeys?: string[]; jwt?: JwtConfig; tenants?: Record<string, { apiKeys: string[] }> } = { apiKeys: keys };
  if (auth.adminKey !== undefined) out.adminKey = secret('auth.adminKey', auth.adminKey);
  if (auth.operatorKeys !== undefined) out.operatorKeys = arr('auth.operatorKeys', auth.operatorKeys).map((k, i) => secret(`auth.operatorKeys[${i}]`, k));
  if (auth.tenants !== undefined) out.tenants = resolveTenants(obj('auth.tenants', auth.tenants));
  if (auth.jwt !== undefined) {
    const j = obj('auth.jwt', auth.jwt);
    known('auth.jwt', j, ['hs256Secret', 'rs256PublicKeyPem', 'audience', 'issuer', 'roleClaim', 'roles']);
    const jwt: { hs256Secret?: string; rs256PublicKeyPem?: string; audience?: string; issuer?: string; roleClaim?: string; roles?: ('user' | 'operator' | 'admin')[] } = {};
    if (j.hs256Secret !== undefined) {
      jwt.hs256Secret = str('auth.jwt.hs256Secret', j.hs256Secret);
      if (jwt.hs256Secret.length < 32) throw new ConfigError('auth.jwt.hs256Secret', 'must be at least 32 characters (RFC 7518 §3.2: a key as long as the hash)');
    }
    if (j.rs256PublicKeyPem !== undefined) {
      jwt.rs256PublicKeyPem = str('auth.jwt.rs256PublicKeyPem', j.rs256PublicKeyPem);
      if (!jwt.rs256PublicKeyPem.includes('BEGIN PUBLIC KEY')) throw new ConfigError('auth.jwt.rs256PublicKeyPem', 'must be an SPKI PEM ("-----BEGIN PUBLIC KEY-----")');
    }
    if (j.audience !== undefined) jwt.audience = str('auth.jwt.audience', j.audience);
    if (j.issuer !== undefined) jwt.issuer = str('auth.jwt.issuer', j.issuer);
    if (j.roleClaim !== undefined) {
      jwt.roleClaim = str('auth.jwt.roleClaim', j.roleClaim);
      if (!/^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$/.test(jwt.roleClaim)) throw new ConfigError('auth.jwt.roleClaim', 'must be a claim name (letters, digits, _ . : / -; at most 128 characters)');
    }
    if (j.roles !== undefined) {
      if (jwt.roleClaim === undefined) throw new ConfigError('auth.jwt.roles', 'needs auth.jwt.roleClaim (the claim that names the role)');
      jwt.roles = arr('auth.jwt.roles', j.roles).map((r, i) => {
        if (r !== 'user' && r !== 'operator' && r !== 'admin') throw new ConfigError(`auth.jwt.roles[${i}]`, `must be user, operator or admin, got ${JSON.stringify(r)}`);
        return r;
      });
    }
    if (jwt.hs256Secret === undefined && jwt.rs256PublicKeyPem === undefined) throw new ConfigError('auth.jwt', 'needs hs256Secret or rs256PublicKeyPem');
    out.jwt = jwt;
  }
  return out;
}

function resolveTenants(tenants: Record<string, unknown>): Record<string, { apiKeys: string[] }> {
  const names = Object.keys(tenants);
  if (names.length > 1000) throw new ConfigError('auth.tenants', 'must name at most 1000 tenants');
  const out: Record<string, { apiKeys: string[] }> = {};
  for (const name of names) {
    if (!isTenantName(name)) throw new ConfigError(`auth.tenants.${name}`, `a tenant name ${TENANT_NAME_RULE}, got ${JSON.stringify(name)}`);
    const t = obj(`auth.tenants.${name}`, tenants[name]);
    known(`auth.tenants.${name}`, t, ['apiKeys']);
    const keys = arr(`auth.tenants.${name}.apiKeys`, t.apiKeys ?? []).map((k, i) => secret(`auth.tenants.${name}.apiKeys[${i}]`, k));
    if (keys.length > 10_000) throw new ConfigError(`auth.tenants.${name}.apiKeys`, 'must hold at most 10000 keys');
    out[name] = { apiKeys: keys };
  }
  return out;
}
