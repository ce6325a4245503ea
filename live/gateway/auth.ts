// Authentication: API keys and JWTs (HS256 / RS256), and the admin key.
//
// Keys are compared in constant time: the presented key and every configured key are hashed with
// SHA-256 (fixed length) and compared with crypto.timingSafeEqual against *all* configured keys, with
// no early exit. Keys never appear in logs or identities: an identity names a key by a short hash.
// JWTs: jose verifies the signature with the algorithm pinned by configuration (never the token's
// choice: `alg: none` and HS/RS confusion are refused), `exp` is required, `aud`/`iss` when configured.
//
// A key that verified is remembered (its answer, by the presented string, in a bounded map): the
// hash and the comparisons run once per key, not once per request (issue 16). Only keys that matched
// are remembered, so unknown keys cannot fill the map, and every miss still goes through the
// constant-time path. The map's own lookup compares the presented string with remembered valid keys
// only when their string hashes (V8's, seeded per process) are equal, so it reveals nothing of a key
// an attacker does not already hold.
import { hash, timingSafeEqual } from 'node:crypto';
import { importSPKI, jwtVerify, type JWTHeaderParameters, type CryptoKey } from 'jose';
import type { AuthConfig, JwtConfig } from '../shared/config.js';
import type { Role } from './roles.js';

export interface Identity {
  /** Stable, loggable name of the credential (rate limits are per identity). */
  readonly id: string;
  readonly kind: 'api-key' | 'admin-key' | 'operator-key' | 'jwt';
  readonly admin: boolean;
  /** What the credential may do (live/gateway/roles.ts). */
  readonly role: Role;
  /** The tenant the credential belongs to (auth.tenants); absent: the default tenant. */
  readonly tenant?: string;
}

export type AuthResult = { readonly ok: true; readonly identity: Identity } | { readonly ok: false; readonly reason: string };

/** One-shot hashing (crypto.hash): no Hash object per request, about 20 % cheaper than createHash (issue 16). */
function sha256(s: string): Buffer {
  return hash('sha256', s, 'buffer');
}

export class Authenticator {
  /** Answers of keys that verified, by the presented string (see the header): at most one per configured key. */
  private readonly verified = new Map<string, AuthResult>();
  private readonly keyHashes: Buffer[];
  /** keyHashes[i]'s tenant (undefined: auth.apiKeys, the default tenant). */
  private readonly keyTenants: (string | undefined)[];
  private readonly tenantNames: ReadonlySet<string>;
  private readonly adminHash: Buffer | undefined;
  private readonly operatorHashes: Buffer[];
  private readonly hsKey: Uint8Array | undefined;
  private readonly rsKey: Promise<CryptoKey> | undefined;
  private readonly algorithms: string[];

  constructor(private readonly cfg: AuthConfig) {
    const tenantKeys = Object.entries(cfg.tenants ?? {}).flatMap(([tenant, t]) => t.apiKeys.map((k) => [tenant, k] as const));
    this.keyHashes = [...cfg.apiKeys.map(sha256), ...tenantKeys.map(([, k]) => sha256(k))];
    this.keyTenants = [...cfg.apiKeys.map(() => undefined), ...tenantKeys.map(([tenant]) => tenant)];
    this.tenantNames = new Set(Object.keys(cfg.tenants ?? {}));
    this.adminHash = cfg.adminKey === undefined ? undefined : sha256(cfg.adminKey);
    this.operatorHashes = (cfg.operatorKeys ?? []).map(sha256);
    this.hsKey = cfg.jwt?.hs256Secret === undefined ? undefined : new TextEncoder().encode(cfg.jwt.hs256Secret);
    this.rsKey = cfg.jwt?.rs256PublicKeyPem === undefined ? undefined : importSPKI(cfg.jwt.rs256PublicKeyPem, 'RS256');
    this.algorithms = [...(this.hsKey !== undefined ? ['HS256'] : []), ...(this.rsKey !== undefined ? ['RS256'] : [])];
    // A rejected import would otherwise surface only at the first RS256 request.
    this.rsKey?.catch(() => undefined);
  }

  /** The credential of a request: `Authorization: Bearer <key|jwt>` or `x-api-key: <key>`. */
  static credentialOf(headers: Record<string, string | string[] | undefined>): string | undefined {
    const auth = headers.authorization;
    if (typeof auth === 'string') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      return m?.[1];
    }
    const key = headers['x-api-key'];
    return typeof key === 'string' && key.length > 0 ? key : undefined;
  }

  /** Synchronous for API keys (the hot path); a promise for JWTs (signature verification is async in jose). */
  authenticate(credential: string | undefined): AuthResult | Promise<AuthResult> {
    if (credential === undefined) return { ok: false, reason: 'no credential' };
    if (credential.length > 8192) return { ok: false, reason: 'credential too long' };
    if (this.algorithms.length > 0 && looksLikeJwt(credential)) return this.verifyJwt(credential);
    return this.checkKey(credential);
  }

  checkKey(credential: string): AuthResult {
    const known = this.verified.get(credential);
    if (known !== undefined) return known;
    const r = this.verifyKey(credential);
    if (r.ok) this.verified.set(credential, r);
    return r;
  }

  /** Hashes the key and compares it with every configured key, in constant time. */
  private verifyKey(credential: string): AuthResult {
    const h = sha256(credential);
    let matched = -1;
    for (let i = 0; i < this.keyHashes.length; i++) if (timingSafeEqual(h, this.keyHashes[i]!) && matched < 0) matched = i;
    const admin = this.adminHash !== undefined && timingSafeEqual(h, this.adminHash);
    let operator = false;
    for (const o of this.operatorHashes) if (timingSafeEqual(h, o)) operator = true;
    if (admin) return { ok: true, identity: { id: `admin-${h.toString('hex', 0, 6)}`, kind: 'admin-key', admin: true, role: 'admin' } };
    if (operator) return { ok: true, identity: { id: `operator-${h.toString('hex', 0, 6)}`, kind: 'operator-key', admin: false, role: 'operator' } };
    if (matched >= 0) {
      const tenant = this.keyTenants[matched];
      return { ok: true, identity: { id: `key-${h.toString('hex', 0, 6)}`, kind: 'api-key', admin: false, role: 'user', ...(tenant !== undefined && { tenant }) } };
    }
    return { ok: false, reason: 'unknown key' };
  }

  private async verifyJwt(token: string): Promise<AuthResult> {
    const jwt = this.cfg.jwt!;
    try {
      const { payload } = await jwtVerify(token, (header: JWTHeaderParameters) => this.keyFor(header), {
        algorithms: this.algorithms,
        requiredClaims: ['exp'],
        ...(jwt.audience !== undefined && { audience: jwt.audience }),
        ...(jwt.issuer !== undefined && { issuer: jwt.issuer }),
      });
      const sub = typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub.slice(0, 128) : 'anonymous';
      const tenant = typeof payload.tenant === 'string' && this.tenantNames.has(payload.tenant) ? payload.tenant : undefined;
      const role = jwtRole(jwt, payload);
      if (typeof role !== 'string') return { ok: false, reason: role.refused };
      return { ok: true, identity: { id: `jwt-${sub}`, kind: 'jwt', admin: role === 'admin', role, ...(tenant !== undefined && { tenant }) } };
    } catch (err) {
      return { ok: false, reason: `jwt: ${(err as { code?: string }).code ?? (err as Error).message}` };
    }
  }

  private async keyFor(header: JWTHeaderParameters): Promise<Uint8Array | CryptoKey> {
    if (header.alg === 'HS256' && this.hsKey !== undefined) return this.hsKey;
    if (header.alg === 'RS256' && this.rsKey !== undefined) return this.rsKey;
    throw new Error(`alg ${String(header.alg)} not accepted`);
  }
}

/**
 * A verified token's role: `auth.jwt.roleClaim` names the claim; a token without it is a user; one
 * naming a role outside `auth.jwt.roles` (default: user only) or no role at all is refused, never
 * downgraded, so a misissued token is seen at once.
 */
export function jwtRole(jwt: JwtConfig, payload: Readonly<Record<string, unknown>>): Role | { readonly refused: string } {
  if (jwt.roleClaim === undefined) return 'user';
  const claimed = payload[jwt.roleClaim];
  if (claimed === undefined) return 'user';
  const allowed = jwt.roles ?? ['user'];
  if (claimed !== 'user' && claimed !== 'operator' && claimed !== 'admin') return { refused: `jwt: claim ${jwt.roleClaim} must name a role (user, operator or admin)` };
  if (!allowed.includes(claimed)) return { refused: `jwt: role ${claimed} is not accepted from tokens (auth.jwt.roles)` };
  return claimed;
}

function looksLikeJwt(s: string): boolean {
  const first = s.indexOf('.');
  return first > 0 && s.indexOf('.', first + 1) > first && s.startsWith('eyJ');
}
