/**
 * The reference seller's instances and its answers to the V2 activities (koogallery-spec §1.5),
 * kept apart from HTTP and signature checks so each rule reads on its own.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SellerFaults } from './faults';

export const OK = '000000';
export const AUTH_FAILED = '000001';
export const BAD_REQUEST = '000002';
export const NO_INSTANCE = '000003';
export const IN_PROGRESS = '000004';
export const INTERNAL_ERROR = '000005';

export interface AppInfo { frontEndUrl: string; adminUrl: string; userName: string; password: string }

export interface Instance {
  instanceId: string;
  orderId: string;
  orderLineId: string;
  /** Created by a testFlag=1 (seller-console debugging) call. */
  test: boolean;
  createdAt: number;
  /** queryInstance shows the instance from this moment on (later than createdAt when provisioned asynchronously). */
  readyAt: number;
  appInfo: AppInfo;
  expireTime?: string;
  productId?: string;
  frozen: boolean;
  released: boolean;
  skuCode?: string;
  /** upgradeInstance is idempotent per order (spec §1.5.6). */
  upgradeOrderIds: string[];
  /** Every accepted lifecycle call after newInstance, in order, so tests can assert what the marketplace sent. */
  events: LifecycleEvent[];
}

export type LifecycleEvent =
  | { activity: 'refreshInstance'; at: number; scene: RefreshScene; orderId: string; orderLineId: string; expireTime: string; productId?: string }
  | { activity: 'updateInstanceStatus'; at: number; status: 'FREEZE' | 'UNFREEZE' }
  /** `repeated`: the instance was already released; the call still succeeds (spec §1.5.5). */
  | { activity: 'releaseInstance'; at: number; orderId?: string; orderLineId?: string; repeated: boolean }
  | { activity: 'upgradeInstance'; at: number; orderId: string; orderLineId: string };

export const REFRESH_SCENES = ['TRIAL_TO_FORMAL', 'RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'RENEWAL_CHANGE'] as const;
export type RefreshScene = (typeof REFRESH_SCENES)[number];

export type Answer = { resultCode: string; resultMsg: string } & Record<string, unknown>;

export interface ActivityContext { now: number; mode: 'sync' | 'async'; asyncDelayMs: number; faults: SellerFaults }

// All V2 values are strings (the sample seller parses into Map<String,String>); numbers are refused.
const id64 = z.string().min(1).max(64);
const testFlag = z.string().max(2).optional();
const newInstanceBody = z.object({ orderId: id64, orderLineId: id64, businessId: id64, testFlag });
const queryInstanceBody = z.object({ instanceId: z.string().min(1), testFlag });
const refreshInstanceBody = z.object({
  instanceId: id64, orderId: id64, orderLineId: id64, productId: id64.optional(), testFlag,
  scene: z.enum(REFRESH_SCENES),
  // UTC yyyyMMddHHmmss; the spec's own example carries milliseconds too (§1.5.3 [C]), so those are allowed.
  expireTime: z.string().regex(/^\d{14}(\d{3})?$/, 'expected yyyyMMddHHmmss (UTC)').refine(isRealUtcTime, 'not a real UTC date and time'),
});
const updateStatusBody = z.object({ instanceId: id64, status: z.enum(['FREEZE', 'UNFREEZE']), testFlag });
const releaseInstanceBody = z.object({ instanceId: id64, orderId: id64.optional(), orderLineId: id64.optional(), testFlag });
// V2 upgrade carries no spec (the seller asks Query Order); skuCode is accepted for tests that want to mark one.
const upgradeInstanceBody = z.object({ instanceId: id64, orderId: id64, orderLineId: id64, skuCode: id64.optional(), testFlag });

const MAX_QUERY_IDS = 100;

const answer = (resultCode: string, resultMsg: string, extra: Record<string, unknown> = {}): Answer => ({ resultCode, resultMsg, ...extra });
const invalid = (e: z.ZodError) => answer(BAD_REQUEST, e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ').slice(0, 255));
const notFound = () => answer(NO_INSTANCE, 'instance does not exist');

export class InstanceBook {
  readonly byOrderLine = new Map<string, Instance>();
  private readonly byId = new Map<string, Instance>();

  get(instanceId: string): Instance | undefined {
    return this.byId.get(instanceId);
  }

  answer(body: Record<string, unknown>, ctx: ActivityContext): Answer {
    switch (body.activity) {
      case 'newInstance': return this.newInstance(body, ctx);
      case 'queryInstance': return this.queryInstance(body, ctx);
      case 'refreshInstance': return ctx.faults.refreshFails ? answer(INTERNAL_ERROR, 'injected fault') : this.refreshInstance(body, ctx.now);
      case 'updateInstanceStatus': return ctx.faults.statusFails ? answer(INTERNAL_ERROR, 'injected fault') : this.updateInstanceStatus(body, ctx.now);
      case 'releaseInstance': return this.releaseInstance(body, ctx.now, !!ctx.faults.releaseOnce);
      case 'upgradeInstance': return this.upgradeInstance(body, ctx.now);
      default: return answer(BAD_REQUEST, `unsupported activity: ${String(body.activity)}`.slice(0, 255));
    }
  }

  private newInstance(body: unknown, { now, mode, asyncDelayMs, faults }: ActivityContext): Answer {
    const p = newInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const { orderId, orderLineId, businessId } = p.data;
    const queued = faults.resultCodes?.shift();
    if (queued !== undefined && queued !== OK && queued !== IN_PROGRESS) return answer(queued, 'injected fault');
    let inst = faults.newInstancePerCall ? undefined : this.byOrderLine.get(orderLineId);
    const created = !inst;
    // An injected code decides how this instance is provisioned; otherwise the seller's mode does.
    const async = faults.asyncNeverReady || (queued !== undefined ? queued === IN_PROGRESS : mode === 'async');
    if (!inst) {
      // Resends carry a new businessId, so the first one names the instance (spec §1.8).
      const instanceId = faults.instanceIdOverride ?? businessId;
      inst = {
        instanceId, orderId, orderLineId, test: p.data.testFlag === '1', createdAt: now,
        readyAt: faults.asyncNeverReady ? Infinity : async ? now + asyncDelayMs : now, appInfo: appInfoFor(instanceId),
        frozen: false, released: false, upgradeOrderIds: [], events: [],
      };
      this.byOrderLine.set(orderLineId, inst);
      this.byId.set(instanceId, inst);
    }
    const code = queued ?? (created ? (async ? IN_PROGRESS : OK) : inst.readyAt <= now ? OK : IN_PROGRESS);
    // The override answers even a resend with a foreign id, so the marketplace's mismatch check can be tested.
    return answer(code, code === OK ? 'success' : 'in progress', { instanceId: faults.instanceIdOverride ?? inst.instanceId });
  }

  private queryInstance(body: unknown, { now, faults }: ActivityContext): Answer {
    const p = queryInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const ids = queryIds(p.data.instanceId);
    if (ids.length === 0 || ids.length > MAX_QUERY_IDS) return answer(BAD_REQUEST, `instanceId must list 1 to ${MAX_QUERY_IDS} ids`);
    // Unknown, released and still-provisioning instances are left out rather than failing the whole batch.
    const info = (faults.queryFirstIdOnly ? ids.slice(0, 1) : ids)
      .map((id) => this.byId.get(id))
      .filter((i): i is Instance => !!i && !i.released && i.readyAt <= now)
      .map((i) => ({ instanceId: i.instanceId, appInfo: i.appInfo }));
    return answer(OK, 'success', { info });
  }

  /** Trial to formal, renewal, a refunded renewal period or a renewal with a change: the new expiry applies (spec §1.5.3). */
  private refreshInstance(body: unknown, at: number): Answer {
    const p = refreshInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const inst = this.live(p.data.instanceId);
    if (!inst) return notFound();
    const { scene, orderId, orderLineId, expireTime, productId } = p.data;
    inst.expireTime = expireTime;
    if (productId) inst.productId = productId;
    inst.events.push({ activity: 'refreshInstance', at, scene, orderId, orderLineId, expireTime, ...(productId ? { productId } : {}) });
    return answer(OK, 'success');
  }

  /** FREEZE at expiry, UNFREEZE after a renewal; either is idempotent (spec §1.5.4). */
  private updateInstanceStatus(body: unknown, at: number): Answer {
    const p = updateStatusBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const inst = this.live(p.data.instanceId);
    if (!inst) return notFound();
    inst.frozen = p.data.status === 'FREEZE';
    inst.events.push({ activity: 'updateInstanceStatus', at, status: p.data.status });
    return answer(OK, 'success');
  }

  /** A repeated release of the same instance is a success (spec §1.5.5). */
  private releaseInstance(body: unknown, at: number, once: boolean): Answer {
    const p = releaseInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const inst = once ? this.live(p.data.instanceId) : this.byId.get(p.data.instanceId);
    if (!inst) return notFound();
    const { orderId, orderLineId } = p.data;
    inst.events.push({ activity: 'releaseInstance', at, repeated: inst.released, ...(orderId ? { orderId } : {}), ...(orderLineId ? { orderLineId } : {}) });
    inst.released = true;
    return answer(OK, 'success');
  }

  private upgradeInstance(body: unknown, at: number): Answer {
    const p = upgradeInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const inst = this.live(p.data.instanceId);
    if (!inst) return notFound();
    if (!inst.upgradeOrderIds.includes(p.data.orderId)) inst.upgradeOrderIds.push(p.data.orderId);
    if (p.data.skuCode) inst.skuCode = p.data.skuCode;
    inst.events.push({ activity: 'upgradeInstance', at, orderId: p.data.orderId, orderLineId: p.data.orderLineId });
    return answer(OK, 'success');
  }

  /** A released instance is gone for every later change but a repeated release. */
  private live(instanceId: string): Instance | undefined {
    const inst = this.byId.get(instanceId);
    return inst && !inst.released ? inst : undefined;
  }
}

/** The ids of a queryInstance call: comma-separated, trimmed, each once. */
export const queryIds = (list: string): string[] => [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))];

/** yyyyMMddHHmmss[SSS] that names an instant that exists (no 31 February, no hour 24). */
function isRealUtcTime(s: string): boolean {
  const [y, mo, d, h, mi, se] = [s.slice(0, 4), s.slice(4, 6), s.slice(6, 8), s.slice(8, 10), s.slice(10, 12), s.slice(12, 14)].map(Number) as number[];
  const t = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, se!));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo! - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === se;
}

function appInfoFor(instanceId: string): AppInfo {
  const id = encodeURIComponent(instanceId);
  return {
    frontEndUrl: `https://app.example.com/i/${id}`,
    adminUrl: `https://app.example.com/admin/${id}`,
    userName: `admin-${instanceId.slice(0, 8)}`,
    password: randomBytes(9).toString('base64url'),
  };
}
