import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndpointLimiter, endpointOf } from '../../seller-client/endpoint-limit';
import { freshDatabase } from '../support/db';

let database: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { database = await freshDatabase(); });
afterAll(async () => database?.drop());

describe('per-endpoint concurrency limit on seller calls', () => {
  it('never lets more than the limit run at once across two workers, and every call gets its turn', async () => {
    // Two limiters on one database stand for two worker processes.
    const workers = [0, 1].map(() => createEndpointLimiter(database.db, { limit: 3, pollMs: 5 }));
    let running = 0;
    let most = 0;
    let done = 0;
    await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const release = await workers[i % 2]!.acquire('http://seller.example/saasproduce', 10_000);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      done++;
      await release();
    }));
    expect(done).toBe(30);
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
    // Another endpoint has its own slots.
    const other = await workers[0]!.acquire('http://other.example/saasproduce', 10_000);
    await other();
  });

  it('a slot whose holder died comes back when its lease ends', async () => {
    const a = createEndpointLimiter(database.db, { limit: 1, pollMs: 5 });
    const b = createEndpointLimiter(database.db, { limit: 1, pollMs: 5 });
    await a.acquire('http://lost.example/p', 300); // never released: the process "died"
    const started = Date.now();
    const release = await b.acquire('http://lost.example/p', 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await release();
  });

  it('names an endpoint by scheme, host, port and path, not by the query', () => {
    expect(endpointOf('https://isv.example.com:8443/saasproduce?signature=x')).toBe('https://isv.example.com:8443/saasproduce');
  });
});
