import { safeError } from '../observability/safe-error';
import type { Logger } from 'pino';

/**
 * Runs each sweep every `seconds` until stopped (decision 008): the sweeps start the workflows of
 * accepted work (review cases, paid order lines) whose start did not happen. A failing sweep is
 * logged and runs again next time; stop() waits for the round under way.
 */
export function runSweeps(seconds: number, sweeps: Record<string, () => Promise<number>>, logger?: Logger) {
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = Promise.all(Object.entries(sweeps).map(([what, sweep]) => sweep().then(
      (n) => { if (n) logger?.info({ started: n }, `intake sweep started the workflows of ${what}`); },
      (e: unknown) => logger?.warn({ err: safeError(e) }, `intake sweep of ${what} failed; it runs again`),
    ))).finally(() => { if (timer) timer = setTimeout(tick, seconds * 1000); });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await current;
    },
  };
}
