/** Waiting without guessing: poll for what must happen, with a deadline. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the first truthy value `probe` returns, polled every 20 ms; rejects after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Retries `check` (assertions) every 50 ms until it passes, or fails with its last error after `timeoutMs`. */
export async function eventually(check: () => Promise<void> | void, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}
