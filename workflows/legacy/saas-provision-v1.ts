import {
  ApplicationFailure, condition, proxyActivities, setCurrentDetails, setHandler, sleep, upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ProvisionActivities } from '../../activities/provision';
import type { NotifyActivities } from '../../activities/notify';
import { DB_WRITES, notifications } from '../activity-options';
import { SA } from '../merchant-review-messages';
import {
  cancelUpdate, manualDeliveryUpdate, PROVISION_NOT_ALLOWED, PROVISION_SA, provisionStateQuery, restartUpdate, type ProvisionInput,
} from '../saas-provision-messages';

/** The state as version 1 kept it (epoch ms). */
interface ProvisionState {
  orderLineId: string;
  status: 'calling' | 'polling' | 'interface_failed' | 'delivered' | 'failed' | 'cancelled';
  attempts: number;
  lastError: string | null;
  instanceId: string | null;
  autoRetriesEndAt: number;
}


// One seller call per activity execution: the workflow owns the retry schedule, so every attempt is
// spaced by the business interval and recorded as its own interface message.
// 30 s covers the longest call timeout allowed (20 s) plus the database writes around it; a worker
// that dies mid-call is noticed after that long and the attempt counts as failed.
const seller = proxyActivities<ProvisionActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
});
const db = proxyActivities<ProvisionActivities>(DB_WRITES);
const notify = proxyActivities<NotifyActivities>(notifications('1 hour'));

type Action = { restart: true } | { manual: string } | { cancel: true };

/**
 * VERSION 1 of saas-provision, kept unchanged so that workflows started before version 2 (no
 * `provision-v2-flat-polling` marker in their history) finish as they began (decision 013). It polls with
 * a timer and an activity per poll and its polling has its own window: its history has no bound. Remove
 * it with deprecatePatch once no open line is older than version 2 (the reconciliation lists them).
 */
export async function legacySaasProvision(input: ProvisionInput): Promise<ProvisionState> {
  const { orderLineId } = input;
  const state: ProvisionState = {
    orderLineId, status: 'calling', attempts: 0, lastError: null, instanceId: null, autoRetriesEndAt: Date.now() + input.retryWindowMs,
  };
  let action: Action | null = null;
  let settled = 0;
  let received = 0;
  const final = () => state.status === 'delivered' || state.status === 'failed' || state.status === 'cancelled';
  const refuse = (why: string) => { throw ApplicationFailure.create({ type: PROVISION_NOT_ALLOWED, message: why, nonRetryable: true }); };
  // Version 1's state shape answers the same Updates and Query (the API reads status, attempts, instanceId, lastError).
  const accept = async (a: Action) => { action = a; const n = ++received; await condition(() => settled >= n); return state as never; };

  setHandler(provisionStateQuery, () => state as never, { description: 'The provisioning state (version 1: epoch ms).' });
  setHandler(restartUpdate, (_r) => accept({ restart: true }), {
    description: 'The seller, after the automatic retries stopped: one immediate newInstance call.',
    validator: (_r) => { if (state.status !== 'interface_failed' || action) refuse(`the order line is ${state.status}; restart needs a failed interface`); },
  });
  setHandler(manualDeliveryUpdate, (d) => accept({ manual: d.instanceId }), {
    description: 'The seller delivers by hand with an instance created outside the interface.',
    validator: (d) => {
      if (final() || action) refuse(`the order line is ${state.status}`);
      if (!d?.instanceId) refuse('instanceId is required');
    },
  });
  setHandler(cancelUpdate, (_c) => accept({ cancel: true }), {
    description: 'The buyer cancels before delivery; the price is refunded.',
    validator: (_c) => { if (final() || action) refuse(`the order line is ${state.status}`); },
  });

  const publish = () => {
    upsertSearchAttributes([
      { key: PROVISION_SA.status, value: state.status },
      { key: PROVISION_SA.productId, value: input.productId },
      { key: SA.merchantId, value: input.merchantId },
    ]);
    setCurrentDetails(`**${state.status}** · ${state.attempts} attempt(s)${state.lastError ? ` · last error: ${state.lastError}` : ''}`);
  };
  const tellSeller = (template: string, vars: Record<string, unknown>) =>
    notify.notifyParty({ dedupeKey: `${orderLineId}:${template}:${state.attempts}`, party: { kind: 'merchant', merchantId: input.merchantId }, template, vars: { orderLineId, ...vars } })
      .catch(() => undefined);
  const finish = async (status: 'delivered' | 'failed' | 'cancelled', reason?: string, interfaceFailure = false) => {
    if (status === 'delivered') await db.markDelivered({ orderLineId, instanceId: state.instanceId! });
    else await db.closeAndRefund({ orderLineId, status, reason: reason ?? status, interfaceFailure });
    state.status = status;
    publish();
    settled = received;
    return state;
  };

  /** One newInstance call, and the polling that a 000004 answer asks for. True when the instance is ready. */
  async function attempt(): Promise<'ready' | 'refused' | 'retry'> {
    state.attempts++;
    const r = await seller.callNewInstance({ orderLineId, attempt: state.attempts }).catch((e: unknown) => ({ outcome: 'retryable' as const, error: String(e), instanceId: undefined, resultCode: undefined }));
    if (r.outcome === 'refused') { state.lastError = `seller refused: ${r.resultCode}`; return 'refused'; }
    if (r.outcome === 'retryable') {
      state.lastError = r.error ?? 'failed';
      publish();
      await tellSeller('provision.failed', { attempt: state.attempts, error: state.lastError });
      return 'retry';
    }
    state.instanceId = r.instanceId!;
    if (r.outcome === 'success') return 'ready';
    state.status = 'polling';
    publish();
    const pollEnd = Date.now() + input.pollWindowMs;
    for (let poll = 1; Date.now() < pollEnd; poll++) {
      await sleep(input.pollIntervalMs);
      const q = await seller.callQueryInstance({ orderLineId, instanceId: state.instanceId, poll }).catch(() => ({ ready: false }));
      if (q.ready) return 'ready';
    }
    state.lastError = 'the seller did not report the instance ready in time';
    return 'retry';
  }

  publish();
  // Automatic phase: attempts every retry interval while the next one still falls inside the window.
  for (;;) {
    const outcome = await attempt();
    if (outcome === 'ready') return finish('delivered');
    if (outcome === 'refused') return finish('failed', state.lastError!);
    state.status = 'calling';
    const next = Date.now() + input.retryIntervalMs;
    if (next >= state.autoRetriesEndAt) break;
    publish();
    if (await condition(() => action !== null, input.retryIntervalMs)) break;
  }

  // Waiting phase: the interface failed; a person decides, or the idle rule does.
  for (;;) {
    if (!action) {
      state.status = 'interface_failed';
      await db.setProvisioning({ orderLineId, provisioning: 'interface_failed' });
      publish();
      await tellSeller('provision.retries_exhausted', { attempts: state.attempts, error: state.lastError });
      const acted = input.idleAction === 'keep' ? (await condition(() => action !== null), true) : await condition(() => action !== null, input.idleMs);
      if (!acted) return finish('failed', `interface failure (${state.lastError}); nobody restarted, delivered or cancelled the order`, true);
    }
    const a: Action = action!;
    action = null;
    if ('cancel' in a) return finish('cancelled', 'cancelled by the buyer');
    if ('manual' in a) { state.instanceId = a.manual; return finish('delivered'); }
    state.status = 'calling';
    publish();
    const outcome = await attempt();
    if (outcome === 'ready') return finish('delivered');
    if (outcome === 'refused') return finish('failed', state.lastError!);
    settled = received;
  }
}
