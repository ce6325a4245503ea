// Polling until a condition holds, for tests and fault scenarios that watch real processes.

/** Polls until cond() or the timeout; returns the ms waited, or undefined on timeout. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 25): Promise<number | undefined> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 >= timeoutMs) return undefined;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Polls until cond(); throws (naming `what`) after the timeout. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 10, what = 'condition'): Promise<void> {
  if ((await waitFor(cond, timeoutMs, stepMs)) === undefined) throw new Error(`${what} not met within ${timeoutMs} ms`);
}

/**
 * Runs one stage of a test under its own deadline, so that a stuck test fails soon and says where:
 * `stage "cluster up" not finished within 30000 ms`. The stage's own work is not cancelled (the test's
 * finally/afterAll cleans up).
 */
export async function stage<T>(name: string, timeoutMs: number, fn: () => T | Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stage "${name}" not finished within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(fn), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
