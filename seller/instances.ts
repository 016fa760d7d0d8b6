/**
 * The reference seller's instances and its answers to the V2 activities (koogallery-spec §1.5),
 * kept apart from HTTP and signature checks so each rule reads on its own.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

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
}

export interface SellerFaults {
  downUntil?: number;
  resultCodes?: string[];
  slowMs?: number;
  instanceIdOverride?: string;
}

export type Answer = { resultCode: string; resultMsg: string } & Record<string, unknown>;

export interface ActivityContext { now: number; mode: 'sync' | 'async'; asyncDelayMs: number; faults: SellerFaults }

// All V2 values are strings (the sample seller parses into Map<String,String>); numbers are refused.
const id64 = z.string().min(1).max(64);
const testFlag = z.string().max(2).optional();
const newInstanceBody = z.object({ orderId: id64, orderLineId: id64, businessId: id64, testFlag });
const queryInstanceBody = z.object({ instanceId: z.string().min(1), testFlag });
const refreshInstanceBody = z.object({
  instanceId: id64, orderId: id64, orderLineId: id64, productId: id64.optional(), testFlag,
  scene: z.enum(['TRIAL_TO_FORMAL', 'RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'RENEWAL_CHANGE']),
  // UTC yyyyMMddHHmmss; the spec's own example carries milliseconds too (§1.5.3 [C]).
  expireTime: z.string().regex(/^\d{14}(\d{3})?$/),
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

  answer(body: Record<string, unknown>, ctx: ActivityContext): Answer {
    switch (body.activity) {
      case 'newInstance': return this.newInstance(body, ctx);
      case 'queryInstance': return this.queryInstance(body, ctx);
      case 'refreshInstance': return this.refreshInstance(body);
      case 'updateInstanceStatus': return this.updateInstanceStatus(body);
      case 'releaseInstance': return this.releaseInstance(body);
      case 'upgradeInstance': return this.upgradeInstance(body);
      default: return answer(BAD_REQUEST, `unsupported activity: ${String(body.activity)}`.slice(0, 255));
    }
  }

  private newInstance(body: unknown, { now, mode, asyncDelayMs, faults }: ActivityContext): Answer {
    const p = newInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const { orderId, orderLineId, businessId } = p.data;
    const queued = faults.resultCodes?.shift();
    if (queued !== undefined && queued !== OK && queued !== IN_PROGRESS) return answer(queued, 'injected fault');
    let inst = this.byOrderLine.get(orderLineId);
    const created = !inst;
    // An injected code decides how this instance is provisioned; otherwise the seller's mode does.
    const async = queued !== undefined ? queued === IN_PROGRESS : mode === 'async';
    if (!inst) {
      // Resends carry a new businessId, so the first one names the instance (spec §1.8).
      const instanceId = faults.instanceIdOverride ?? businessId;
      inst = {
        instanceId, orderId, orderLineId, test: p.data.testFlag === '1', createdAt: now,
        readyAt: async ? now + asyncDelayMs : now, appInfo: appInfoFor(instanceId),
        frozen: false, released: false, upgradeOrderIds: [],
      };
      this.byOrderLine.set(orderLineId, inst);
      this.byId.set(instanceId, inst);
    }
    const code = queued ?? (created ? (async ? IN_PROGRESS : OK) : inst.readyAt <= now ? OK : IN_PROGRESS);
    // The override answers even a resend with a foreign id, so the marketplace's mismatch check can be tested.
    return answer(code, code === OK ? 'success' : 'in progress', { instanceId: faults.instanceIdOverride ?? inst.instanceId });
  }

  private queryInstance(body: unknown, { now }: ActivityContext): Answer {
    const p = queryInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const ids = [...new Set(p.data.instanceId.split(',').map((s) => s.trim()).filter(Boolean))];
    if (ids.length === 0 || ids.length > MAX_QUERY_IDS) return answer(BAD_REQUEST, `instanceId must list 1 to ${MAX_QUERY_IDS} ids`);
    // Unknown, released and still-provisioning instances are left out rather than failing the whole batch.
    const info = ids
      .map((id) => this.byId.get(id))
      .filter((i): i is Instance => !!i && !i.released && i.readyAt <= now)
      .map((i) => ({ instanceId: i.instanceId, appInfo: i.appInfo }));
    return answer(OK, 'success', { info });
  }

  private refreshInstance(body: unknown): Answer {
    const p = refreshInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const inst = this.live(p.data.instanceId);
    if (!inst) return notFound();
    inst.expireTime = p.data.expireTime;
    if (p.data.productId) inst.productId = p.data.productId;
    return answer(OK, 'success');
  }

  private updateInstanceStatus(body: unknown): Answer {
    const p = updateStatusBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const inst = this.live(p.data.instanceId);
    if (!inst) return notFound();
    inst.frozen = p.data.status === 'FREEZE';
    return answer(OK, 'success');
  }

  /** A repeated release of the same instance is a success (spec §1.5.5). */
  private releaseInstance(body: unknown): Answer {
    const p = releaseInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const inst = this.byId.get(p.data.instanceId);
    if (!inst) return notFound();
    inst.released = true;
    return answer(OK, 'success');
  }

  private upgradeInstance(body: unknown): Answer {
    const p = upgradeInstanceBody.safeParse(body);
    if (!p.success) return invalid(p.error);
    const inst = this.live(p.data.instanceId);
    if (!inst) return notFound();
    if (!inst.upgradeOrderIds.includes(p.data.orderId)) inst.upgradeOrderIds.push(p.data.orderId);
    if (p.data.skuCode) inst.skuCode = p.data.skuCode;
    return answer(OK, 'success');
  }

  /** A released instance is gone for every later change but a repeated release. */
  private live(instanceId: string): Instance | undefined {
    const inst = this.byId.get(instanceId);
    return inst && !inst.released ? inst : undefined;
  }
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
