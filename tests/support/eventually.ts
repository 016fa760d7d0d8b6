/**
 * Polls until `ok` holds, for up to `withinMs` of wall-clock time. A deadline rather than a count of tries:
 * under CI load each poll is slower, and a count silently shortens the wait (stuck-api once ran out at 15 s
 * while the restarted worker was still taking its Update). Waiting longer never lets a wrong outcome pass.
 */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, withinMs = 60_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${withinMs / 1000} s)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
