/**
 * The chaos test's HTTP client: a marketplace client as a careful integrator writes it, in front of
 * two API processes as a load balancer would put them. A request that finds its API gone goes to the
 * other; a 5xx is retried after a pause (Retry-After when given) with the same Idempotency-Key; it
 * stops at a definitive answer (2xx or 4xx) or gives up after `giveUpMs`. Every attempt is logged, so
 * the report can say what each outage cost.
 */
export type AttemptOutcome = number | 'refused' | 'reset' | 'timeout';
export interface Attempt { at: number; api: number; op: string; outcome: AttemptOutcome; ms: number }

export interface CallResult<T = unknown> {
  /** The final HTTP status, or 'gave-up'. */
  status: number | 'gave-up';
  body: T;
  attempts: number;
  /** An earlier attempt may have acted (a 5xx, or a connection lost after the request went out). */
  ambiguous: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ChaosClient {
  readonly log: Attempt[] = [];
  private next = 0;
  stopped = false;

  constructor(private readonly apis: string[], private readonly giveUpMs = 180_000) {}

  async call<T = unknown>(op: string, method: string, path: string, o: { key: string; body?: unknown; idempotencyKey?: string }): Promise<CallResult<T>> {
    const until = Date.now() + this.giveUpMs;
    let api = this.next++ % this.apis.length;
    let ambiguous = false;
    let attempts = 0;
    for (;;) {
      attempts++;
      const at = Date.now();
      let outcome: AttemptOutcome;
      let retryAfterMs = 0;
      try {
        const res = await fetch(this.apis[api]! + path, {
          method,
          headers: {
            authorization: `Bearer ${o.key}`,
            ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {}),
          },
          body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        outcome = res.status;
        this.log.push({ at, api, op, outcome, ms: Date.now() - at });
        if (res.status < 500) {
          let body: unknown;
          try { body = JSON.parse(text); } catch { body = text; }
          return { status: res.status, body: body as T, attempts, ambiguous };
        }
        ambiguous = true;
        retryAfterMs = Math.min(10, Number(res.headers.get('retry-after')) || 0) * 1000;
      } catch (e) {
        const err = e as Error & { cause?: { code?: string } };
        // Refused: nothing reached the API. Anything else may have reached it.
        outcome = err.name === 'TimeoutError' ? 'timeout' : err.cause?.code === 'ECONNREFUSED' ? 'refused' : 'reset';
        if (outcome !== 'refused') ambiguous = true;
        this.log.push({ at, api, op, outcome, ms: Date.now() - at });
      }
      if (Date.now() > until || this.stopped) return { status: 'gave-up', body: undefined as T, attempts, ambiguous };
      // The other API next, as a load balancer that saw this one fail would do.
      api = (api + 1) % this.apis.length;
      await sleep(Math.max(retryAfterMs, outcome === 'refused' ? 100 : Math.min(2000, 250 * attempts)));
    }
  }
}
