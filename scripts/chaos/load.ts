/**
 * The chaos test's steady mixed load: sellers apply to join, operators decide (approve or reject),
 * buyers place SaaS orders, each through the ChaosClient over both API processes. It records what
 * each request finally got, so the checks can hold every accepted request to exactly one process.
 */
import { idFromKey } from '../../domain/ids';
import type { CallResult, ChaosClient } from './client';

/** accepted: 2xx; refused: a 4xx; uncertain: gave up after an attempt that may have acted; lost: gave up with nothing sent. */
export type Outcome = 'accepted' | 'refused' | 'uncertain' | 'unsent';

export interface AppRecord { key: string; id: string; outcome: Outcome; status: number | 'gave-up'; decision?: DecisionRecord }
export interface DecisionRecord {
  verb: 'approve' | 'reject';
  /** accepted-earlier: a 409 after an ambiguous attempt, i.e. that attempt decided (the checks confirm it). */
  outcome: Outcome | 'accepted-earlier' | 'pending';
  status: number | 'gave-up' | 'pending';
}
export interface OrderRecord { key: string; id?: string; lines: string[]; outcome: Outcome; status: number | 'gave-up'; probe: boolean }

export interface LoadParties { operator: string; buyer: { id: string; key: string }; applicant: { id: string; key: string }; skuId: string }

const outcomeOf = (r: CallResult): Outcome =>
  typeof r.status === 'number' ? (r.status < 300 ? 'accepted' : 'refused') : r.ambiguous ? 'uncertain' : 'unsent';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Load {
  readonly apps: AppRecord[] = [];
  readonly orders: OrderRecord[] = [];
  private n = 0;
  private deciding = new Set<AppRecord>();

  constructor(private readonly client: ChaosClient, private readonly parties: LoadParties, private readonly runId: string) {}

  /** One application: a new company each time (the licence number is unique per open case). */
  async apply(): Promise<AppRecord> {
    const i = ++this.n;
    const key = `chaos-${this.runId}-app-${i}`;
    const licence = `9131${String(i).padStart(6, '0')}${this.runId.slice(0, 8).toUpperCase().replace(/[^0-9A-HJ-NPQRTUWXY]/g, '0').padEnd(8, '0')}`;
    const r = await this.client.call<{ id?: string }>('apply', 'POST', '/v1/merchant-applications', {
      key: this.parties.applicant.key, idempotencyKey: key,
      body: {
        companyName: `Chaos Cloud ${i} Ltd`, website: `https://chaos${i}.example.com`, businessLicenceNo: licence,
        address: `${i} Century Avenue, Shanghai`, contactName: 'Li Lei', contactPhone: '+8613800138000',
        contactEmail: `contact${i}@chaos.example.com`, customerServiceEmail: `support${i}@chaos.example.com`,
        logoUrl: `https://chaos${i}.example.com/logo.png`, hasMarketplaceContact: false,
      },
    });
    // The case's id follows from the applicant and the key (api/review-service.ts), answered or not.
    const rec: AppRecord = { key, id: r.body?.id ?? idFromKey('MA', this.parties.applicant.id, key), outcome: outcomeOf(r), status: r.status };
    this.apps.push(rec);
    return rec;
  }

  /** A decision on an accepted case nobody has decided yet; alternately approve and reject. */
  async decide(): Promise<DecisionRecord | undefined> {
    const rec = this.apps.find((a) => a.outcome === 'accepted' && !a.decision && !this.deciding.has(a));
    if (!rec) return undefined;
    this.deciding.add(rec);
    const verb = this.n % 2 === 0 ? 'approve' : 'reject';
    rec.decision = { verb, outcome: 'pending', status: 'pending' };
    const r = await this.client.call('decide', 'POST', `/v1/reviews/${rec.id}/${verb}`, {
      key: this.parties.operator, body: verb === 'approve' ? { note: 'chaos approve' } : { reasons: ['chaos reject'] },
    });
    rec.decision = {
      verb, status: r.status,
      outcome: r.status === 409 && r.ambiguous ? 'accepted-earlier' : outcomeOf(r),
    };
    this.deciding.delete(rec);
    return rec.decision;
  }

  async order(probe = false): Promise<OrderRecord> {
    const key = `chaos-${this.runId}-order-${++this.n}`;
    const r = await this.client.call<{ id?: string; lines?: { id: string }[] }>(probe ? 'probe' : 'order', 'POST', '/v1/orders', {
      key: this.parties.buyer.key, idempotencyKey: key, body: { items: [{ skuId: this.parties.skuId }] },
    });
    const rec: OrderRecord = { key, ...(r.body?.id ? { id: r.body.id } : {}), lines: (r.body?.lines ?? []).map((l) => l.id), outcome: outcomeOf(r), status: r.status, probe };
    this.orders.push(rec);
    return rec;
  }

  /** `concurrency` clients, each one request then a pause, until `until` (epoch ms). */
  async run(until: number, concurrency: number, pauseMs: number): Promise<void> {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const dice = Math.random();
        if (dice < 0.4) await this.order();
        else if (dice < 0.7 || !(await this.decide())) await this.apply();
        await sleep(pauseMs * (0.5 + Math.random()));
      }
    }));
  }
}
