import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { newId } from '../domain/ids';

/**
 * At most `limit` calls in flight to one seller endpoint, across every worker process: each call holds a
 * lease on one of the endpoint's slot rows (seller_endpoint_slots) while it runs. A lease ends when the
 * call does, or by itself after its `leaseMs` if the process died mid-call, so a slot is never lost.
 * Within a process, callers queue in memory first, so only cross-process contention polls the database.
 */
/** `leaseMs`: how long the slot is held if its release never comes (the call's timeout and a margin). */
export interface EndpointLimiter { acquire(endpoint: string, leaseMs: number): Promise<() => Promise<void>> }

export function createEndpointLimiter(db: Db, o: { limit: number; pollMs?: number }): EndpointLimiter {
  const seeded = new Set<string>();
  const local = new Map<string, { running: number; waiting: (() => void)[] }>();
  const pollMs = o.pollMs ?? 25;

  async function takeLocal(endpoint: string) {
    let q = local.get(endpoint);
    if (!q) local.set(endpoint, (q = { running: 0, waiting: [] }));
    if (q.running >= o.limit) await new Promise<void>((resolve) => q!.waiting.push(resolve));
    else q.running++;
    return () => {
      const next = q!.waiting.shift();
      if (next) next(); else q!.running--;
    };
  }

  async function lease(endpoint: string, holder: string, leaseMs: number): Promise<number> {
    if (!seeded.has(endpoint)) {
      await db.execute(sql`insert into seller_endpoint_slots (endpoint, slot) select ${endpoint}, g from generate_series(0, ${o.limit - 1}) g on conflict do nothing`);
      seeded.add(endpoint);
    }
    for (let wait = pollMs; ; wait = Math.min(wait * 2, 500)) {
      const r = await db.execute(sql`
        update seller_endpoint_slots s set holder = ${holder}, until = clock_timestamp() + ${leaseMs} * interval '1 millisecond'
        where (s.endpoint, s.slot) = (
          select endpoint, slot from seller_endpoint_slots
          where endpoint = ${endpoint} and slot < ${o.limit} and until < clock_timestamp()
          order by slot limit 1 for update skip locked)
        returning s.slot`) as unknown as { rows: { slot: number }[] };
      if (r.rows[0]) return r.rows[0].slot;
      // Another process holds every slot: poll with growing pauses (a lease lasts one call).
      await new Promise((resolve) => setTimeout(resolve, wait * (0.5 + Math.random())));
    }
  }

  return {
    async acquire(endpoint, leaseMs) {
      if (o.limit <= 0) return async () => undefined;
      const releaseLocal = await takeLocal(endpoint);
      const holder = newId('', 16);
      let slot: number;
      try {
        slot = await lease(endpoint, holder, leaseMs);
      } catch (e) {
        releaseLocal();
        throw e;
      }
      return async () => {
        // A release that cannot be written (the database away) is not the caller's failure: the lease ends by itself.
        await db.execute(sql`update seller_endpoint_slots set holder = null, until = '-infinity' where endpoint = ${endpoint} and slot = ${slot} and holder = ${holder}`)
          .catch(() => undefined).finally(releaseLocal);
      };
    },
  };
}

/** The endpoint a limit counts against: scheme, host, port and path of the production interface address. */
export const endpointOf = (url: string) => { const u = new URL(url); return `${u.protocol}//${u.host}${u.pathname}`; };
