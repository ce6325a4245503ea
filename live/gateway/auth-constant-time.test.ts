// Key comparison does the same work whatever the key presented: every configured key (and the admin
// key) is compared, with timingSafeEqual on fixed-length SHA-256 digests, whether the key matches the
// first configured key, the last one, the admin key, or none. An early exit (the timing leak this
// guards against) changes the number of comparisons, which this test counts.
import type * as Crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const calls: { a: number; b: number }[] = [];
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof Crypto>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.push({ a: a.byteLength, b: b.byteLength });
      return real.timingSafeEqual(a, b);
    },
  };
});

const { Authenticator } = await import('./auth.js');

const KEYS = ['sk-first-key-000000001', 'sk-second-key-00000002', 'sk-third-key-000000003'];
const ADMIN = 'sk-admin-key-0000000009';

describe('API key comparison in constant time', () => {
  const auth = new Authenticator({ apiKeys: KEYS, adminKey: ADMIN });
  beforeEach(() => {
    calls.length = 0;
  });

  it.each([
    ['the first key', KEYS[0]!, true],
    ['the last key', KEYS[2]!, true],
    ['the admin key', ADMIN, true],
    ['an unknown key of the same length', 'sk-first-key-000000002', false],
    ['a short unknown key', 'x', false],
    ['a long unknown key', 'y'.repeat(4000), false],
  ])('%s: every configured key compared, on 32-byte digests', (_name, key, ok) => {
    expect(auth.checkKey(key).ok).toBe(ok);
    expect(calls).toHaveLength(KEYS.length + 1);
    for (const c of calls) expect(c).toEqual({ a: 32, b: 32 });
  });
});

describe('verified keys remembered (issue 16)', () => {
  beforeEach(() => {
    calls.length = 0;
  });

  it('a key that verified is checked once; later requests get the same answer without hashing it again', () => {
    const auth = new Authenticator({ apiKeys: KEYS, adminKey: ADMIN });
    const first = auth.checkKey(KEYS[1]!);
    expect(calls).toHaveLength(KEYS.length + 1);
    calls.length = 0;
    expect(auth.checkKey(KEYS[1]!)).toBe(first);
    expect(auth.checkKey(ADMIN)).toMatchObject({ ok: true, identity: { kind: 'admin-key' } });
    expect(calls).toHaveLength(KEYS.length + 1); // the admin key's own first check only
  });

  it('an unknown key is never remembered: every attempt goes through the constant-time comparison', () => {
    const auth = new Authenticator({ apiKeys: KEYS, adminKey: ADMIN });
    for (let i = 0; i < 3; i++) expect(auth.checkKey('sk-first-key-000000002').ok).toBe(false);
    expect(calls).toHaveLength(3 * (KEYS.length + 1));
  });
});
