// Invalid configuration is the operator's fault: rejected at load with the field and the allowed range.

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid config: ${field} ${reason}`);
  }
}

/** Checks a number field is finite and within [min, max]; returns it. */
export function checkNumber(field: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ConfigError(field, `must be a finite number in [${min}, ${max}], got ${String(value)}`);
  }
  if (value < min || value > max) throw new ConfigError(field, `must be in [${min}, ${max}], got ${value}`);
  return value;
}

export function checkInteger(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = checkNumber(field, value, min, max);
  if (!Number.isInteger(n)) throw new ConfigError(field, `must be an integer in [${min}, ${max}], got ${n}`);
  return n;
}

export function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}
