// The live config's field checkers: each throws a ConfigError that names the field.
import { ConfigError } from '../../core/index.js';

export function obj(field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(field, `must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

export function arr(field: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new ConfigError(field, `must be an array, got ${describe(v)}`);
  return v;
}

export function known(field: string, o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ConfigError(`${field}.${k}`, `is not a known field (known: ${keys.join(', ')})`);
}

export function str(field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(field, `must be a non-empty string, got ${describe(v)}`);
  return v;
}

/** A string that must not be echoed back in the error (keys, secrets). */
export function secret(field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length < 8) throw new ConfigError(field, 'must be a string of at least 8 characters');
  return v;
}

export function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(field, `must be an integer in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

export function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new ConfigError(field, `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
  return v as T;
}

export function describe(v: unknown): string {
  return Array.isArray(v) ? 'an array' : JSON.stringify(v) ?? String(v);
}
