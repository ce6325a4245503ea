// Assertions are for what must never happen (our own bug): they crash loudly. Expected failures
// (bad input, a dead worker) are error values or ConfigError, never assertions.

export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant violated: ${message}`);
}

/**
 * The throw of a failed invariant, for hot paths: `if (!condition) invariantFailed(`…${x}…`)` builds its
 * message only when it fails, where `invariant(condition, `…${x}…`)` builds it on every call (issue 21).
 */
export function invariantFailed(message: string): never {
  throw new InvariantError(`invariant violated: ${message}`);
}
