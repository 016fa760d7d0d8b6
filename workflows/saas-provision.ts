import {
  ActivityCancellationType, ActivityFailure, allHandlersFinished, ApplicationFailure, CancellationScope, condition, continueAsNew,
  isCancellation, patched, proxyActivities, setCurrentDetails, setHandler, TimeoutFailure, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { NotifyActivities } from '../activities/notify';
import type { ProvisionActivities } from '../activities/provision';
import type { SubscriptionActivities } from '../activities/subscription';
import { DB_WRITES, notifications } from './activity-options';
import { legacySaasProvision } from './legacy/saas-provision-v1';
import {
  cancelUpdate, INSTANCE_NOT_READY, manualDeliveryUpdate, PROVISION_NOT_ALLOWED, PROVISION_SA, PROVISION_V2, provisionStateQuery, restartUpdate,
  type ProvisionCarry, type ProvisionInput, type ProvisionState, type ProvisionStatus,
} from './saas-provision-messages';
import { createStuckGuard, StepInterrupted } from './stuck';
import { shanghai } from './time';

// One newInstance call per activity: the workflow owns the attempt schedule (decision 006). A worker that
// dies mid-call is our fault, not the seller's: the activity is retried with the same attempt number.
const seller = proxyActivities<ProvisionActivities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '5 seconds', maximumAttempts: 3 } });
const db = proxyActivities<ProvisionActivities>(DB_WRITES);
// A few tries, then the subscriptions sweep's turn: the delivery must not wait on it.
const starter = proxyActivities<SubscriptionActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });
const notify = proxyActivities<NotifyActivities>(notifications('1 hour'));
/**
 * Polling after 000004 is ONE activity whose attempts are the polls: each attempt asks queryInstance once and
 * fails `InstanceNotReady` until the instance is ready; the server spaces the attempts by the poll interval
 * and ends them at the window (schedule-to-close). Retries add no history events, so the history stays flat
 * however long the seller takes. Cancelling it (an action during polling) takes effect at once.
 */
const poller = (intervalMs: number, windowMs: number) => proxyActivities<ProvisionActivities>({
  startToCloseTimeout: '30 seconds', scheduleToCloseTimeout: windowMs, cancellationType: ActivityCancellationType.TRY_CANCEL,
  retry: { initialInterval: intervalMs, backoffCoefficient: 1, maximumInterval: intervalMs },
});

type Action = { restart: true } | { manual: string } | { cancel: true };
/** One Update's wait for its own effect: done when it took effect, with the state it left. */
interface Ticket { done: boolean; refusal?: ApplicationFailure }

/**
 * Provisions one SaaS order line through the seller's production interface (docs/saas-provision.md).
 * Histories recorded before version 2 replay the first version (workflows/legacy/, decision 013).
 */
export async function saasProvision(input: ProvisionInput): Promise<ProvisionState> {
  if (!patched(PROVISION_V2)) return legacySaasProvision(input) as unknown as Promise<ProvisionState>;
  return provision(input);
}

async function provision(input: ProvisionInput): Promise<ProvisionState> {
  const { orderLineId } = input;
  const carry: ProvisionCarry | undefined = input.carry;
  const state: ProvisionState = {
    orderLineId, status: carry?.waitingSince ? 'interface_failed' : 'calling', attempts: carry?.attempts ?? 0, lastError: carry?.lastError ?? null,
    instanceId: carry?.instanceId ?? null, restarts: carry?.restarts ?? 0, refundedCents: null, stuck: null,
    autoRetriesEndAt: carry?.autoRetriesEndAt ?? new Date(Date.now() + input.retryWindowMs).toISOString(),
    waitingSince: carry?.waitingSince ?? null,
  };
  let action: { what: Action; ticket: Ticket } | null = null;
  let restartTicket: Ticket | null = null;
  const final = () => state.status === 'delivered' || state.status === 'failed' || state.status === 'cancelled';
  const refuse = (why: string) => { throw ApplicationFailure.create({ type: PROVISION_NOT_ALLOWED, message: why, nonRetryable: true }); };
  const take = async (what: Action) => {
    const ticket: Ticket = { done: false };
    action = { what, ticket };
    await condition(() => ticket.done);
    if (ticket.refusal) throw ticket.refusal;
    return state;
  };

  setHandler(provisionStateQuery, () => state, { description: 'The provisioning state: status, attempts, last error, instance, deadlines (ISO 8601).' });
  setHandler(restartUpdate, (_r) => take({ restart: true }), {
    description: 'The seller, after the automatic retries stopped: one immediate newInstance call. Answers with its outcome (delivered, failed, polling or interface_failed again).',
    validator: (_r) => { if (state.status !== 'interface_failed' || action) refuse(`the order line is ${state.status}; restart needs a failed interface`); },
  });
  setHandler(manualDeliveryUpdate, (d) => take({ manual: d.instanceId }), {
    description: 'The seller delivers by hand with an instance created outside the interface. Answers once the line is delivered.',
    validator: (d) => {
      if (final() || action) refuse(`the order line is ${state.status}`);
      if (!d?.instanceId) refuse('instanceId is required');
    },
  });
  setHandler(cancelUpdate, (_c) => take({ cancel: true }), {
    description: 'The buyer cancels before delivery, also during polling. Answers with the final state and the refund.',
    validator: (_c) => { if (final() || action) refuse(`the order line is ${state.status}`); },
  });

  // What the read model and the search attribute last said, so each change is written once.
  let shown: ProvisionStatus | null = carry ? state.status : null;
  const details = () => setCurrentDetails([
    `**${state.status}** · ${state.attempts} attempt(s)${state.restarts ? ` · ${state.restarts} restart(s)` : ''}`,
    state.waitingSince ? `waiting for the seller or the buyer since ${shanghai(Date.parse(state.waitingSince))}` : `automatic retries until ${shanghai(Date.parse(state.autoRetriesEndAt))}`,
    ...(state.lastError ? [`last error: ${state.lastError}`] : []),
    ...(state.stuck ? [`stuck in ${state.stuck.step}: ${state.stuck.failureType}: ${state.stuck.message}`] : []),
  ].join(' · '));
  /** Shows a status in the Web UI and the read model (`order_lines.provisioning`). */
  async function show(status: ProvisionStatus, opts: { bestEffort?: boolean } = {}) {
    state.status = status;
    details();
    if (status === shown) return;
    shown = status;
    upsertSearchAttributes([{ key: PROVISION_SA.status, value: status }]);
    if (final()) return; // the closing activity wrote the line
    const write = () => db.setProvisioning({ orderLineId, provisioning: status as 'calling' | 'polling' | 'interface_failed' | 'stuck' });
    // While stuck the database may be the fault itself: the write is tried, the status is not held for it.
    if (opts.bestEffort) await write().catch(() => { shown = null; });
    else await guard.run('setProvisioning', write);
  }

  let before: ProvisionStatus = state.status;
  let stuckAt = 0;
  // Our own faults (configuration, keys, rows, a database away) hold the line in `stuck`: no call counted,
  // nothing told to the seller, nothing against its record. Time stuck does not count against the window.
  const guard = createStuckGuard({
    subjectId: orderLineId,
    onChange: async (stuck) => {
      state.stuck = stuck;
      if (stuck) { before = state.status === 'stuck' ? before : state.status; stuckAt = Date.now(); return show('stuck', { bestEffort: true }); }
      if (!state.waitingSince) state.autoRetriesEndAt = new Date(Date.parse(state.autoRetriesEndAt) + Date.now() - stuckAt).toISOString();
      return show(before, { bestEffort: true });
    },
  });
  const interrupt = () => action !== null;

  const tellSeller = (template: string, vars: Record<string, unknown>) =>
    notify.notifyParty({ dedupeKey: `${orderLineId}:${template}:${state.attempts}`, party: { kind: 'merchant', merchantId: input.merchantId }, template, vars: { orderLineId, ...vars } })
      .catch(() => undefined);

  async function finish(status: 'delivered' | 'failed' | 'cancelled', reason?: string, interfaceFailure = false): Promise<ProvisionState> {
    if (status === 'delivered') {
      const at = Date.now();
      const delivered = await guard.run('markDelivered', () => db.markDelivered({ orderLineId, instanceId: state.instanceId!, at }));
      // A yearly/monthly instance lives on in its subscription; a start that fails is the subscriptions sweep's (decision 008).
      if (patched('start-subscription') && delivered?.subscription) await starter.startSubscription({ instanceId: state.instanceId! }).catch(() => undefined);
    }
    else state.refundedCents = (await guard.run('closeAndRefund', () => db.closeAndRefund({ orderLineId, status, reason: reason ?? status, interfaceFailure }))).refundedCents;
    await show(status);
    const pending = action as { ticket: Ticket } | null;
    if (pending) pending.ticket.done = true;
    if (restartTicket) restartTicket.done = true;
    await condition(allHandlersFinished);
    return state;
  }

  /** Polls queryInstance until the instance is ready, `until` passes, or an action interrupts. */
  async function poll(until: number): Promise<'ready' | 'window' | 'action'> {
    await show('polling');
    // The restart that asked for this call answers now: the seller took it, and polling has begun.
    if (restartTicket) { restartTicket.done = true; restartTicket = null; }
    // The first poll comes one interval after the 000004, like every later one.
    if (await condition(interrupt, Math.min(input.pollIntervalMs, Math.max(0, until - Date.now())))) return 'action';
    const scope = new CancellationScope();
    const polling = scope.run(() => guard.run('pollInstance', async () => {
      const left = until - Date.now();
      // (A re-check after a stuck spell may come when the window is over.)
      if (left < 1000) return { ready: false };
      return poller(input.pollIntervalMs, left).pollInstance({ orderLineId, instanceId: state.instanceId!, key: `${workflowInfo().runId}:${state.attempts}` });
    }, { passThrough: ['Timeout', INSTANCE_NOT_READY] }));
    const outcome = await Promise.race([
      polling.then((r) => (r.ready ? 'ready' as const : 'window' as const), (e: unknown) => {
        // The server ends the attempts when the next one would pass the window: the last poll's failure comes back.
        if (!(e instanceof ActivityFailure) || isCancellation(e)) throw e;
        const last = e.cause instanceof TimeoutFailure ? e.cause.cause : e.cause;
        state.lastError = `the seller did not report the instance ready in time${last instanceof ApplicationFailure ? ` (last poll: ${last.message})` : ''}`;
        return 'window' as const;
      }),
      condition(interrupt).then(() => 'action' as const),
    ]);
    if (outcome === 'action') { scope.cancel(); await polling.catch(() => undefined); return 'action'; }
    // The window ends at its end, not at the last poll that fits in it.
    if (outcome === 'window' && await condition(interrupt, Math.max(0, until - Date.now()))) return 'action';
    return outcome;
  }

  /** One newInstance call, and the polling a 000004 asks for, up to `pollUntil`. */
  async function attempt(pollUntil: number): Promise<'ready' | 'refused' | 'retry' | 'window' | 'action'> {
    const n = state.attempts + 1;
    let r;
    try {
      r = await guard.run('callNewInstance', () => seller.callNewInstance({ orderLineId, attempt: n }), { interrupt });
    } catch (e) {
      if (e instanceof StepInterrupted) return 'action';
      throw e;
    }
    state.attempts = n;
    if (r.outcome === 'refused') { state.lastError = `seller refused: ${r.resultCode}`; return 'refused'; }
    if (r.outcome === 'retryable') {
      state.lastError = r.error ?? 'failed';
      details();
      await tellSeller('provision.failed', { attempt: n, error: state.lastError });
      return 'retry';
    }
    state.instanceId = r.instanceId!;
    if (r.outcome === 'success') return 'ready';
    return poll(pollUntil);
  }

  // Automatic phase: ONE window from the start (carried across continue-as-new). Attempts every interval while
  // the next falls inside it; polling after 000004 counts against it; it ends at the window, not before.
  if (!state.waitingSince) {
    await show('calling');
    for (;;) {
      const end = () => Date.parse(state.autoRetriesEndAt);
      const outcome = await attempt(end());
      if (outcome === 'ready') return finish('delivered');
      if (outcome === 'refused') return finish('failed', state.lastError!);
      if (outcome === 'action' || outcome === 'window') break;
      await show('calling');
      const next = Date.now() + input.retryIntervalMs;
      if (next >= end()) { await condition(interrupt, Math.max(0, end() - Date.now())); break; }
      if (await condition(interrupt, input.retryIntervalMs)) break;
    }
  }

  /** Continues as new carrying the state, once every Update has its answer; an action arriving first is handled here instead. */
  async function continueWhenIdle() {
    await condition(() => allHandlersFinished() || action !== null);
    if (action) return;
    const carried: ProvisionCarry = {
      attempts: state.attempts, lastError: state.lastError, instanceId: state.instanceId, restarts: state.restarts,
      autoRetriesEndAt: state.autoRetriesEndAt, waitingSince: state.waitingSince,
    };
    await continueAsNew<typeof saasProvision>({ ...input, carry: carried });
  }

  // Waiting phase: the interface failed; a person decides, or the idle rule does.
  for (;;) {
    // A long wait (many stuck re-checks) continues as new when the server suggests it.
    if (!action && workflowInfo().continueAsNewSuggested) await continueWhenIdle();
    const next = action as { what: Action; ticket: Ticket } | null;
    if (!next) {
      if (!state.waitingSince) {
        state.waitingSince = new Date().toISOString();
        await show('interface_failed');
        await tellSeller('provision.retries_exhausted', { attempts: state.attempts, error: state.lastError });
      } else await show('interface_failed');
      const idleLeft = Date.parse(state.waitingSince) + input.idleMs - Date.now();
      const acted = input.idleAction === 'keep' ? (await condition(interrupt), true) : await condition(interrupt, Math.max(0, idleLeft));
      if (!acted) return finish('failed', `interface failure (${state.lastError}); nobody restarted, delivered or cancelled the order`, true);
      continue;
    }
    if ('cancel' in next.what) return finish('cancelled', 'cancelled by the buyer');
    if ('manual' in next.what) { state.instanceId = next.what.manual; return finish('delivered'); }
    // A restart: one immediate call; its Update answers with the outcome; then the run continues as new.
    action = null;
    restartTicket = next.ticket;
    state.restarts++;
    state.waitingSince = null;
    await show('calling');
    const outcome = await attempt(Date.now() + input.pollWindowMs);
    if (outcome === 'ready') return finish('delivered');
    if (outcome === 'refused') return finish('failed', state.lastError!);
    if (outcome === 'action') continue;
    state.waitingSince = new Date().toISOString();
    await show('interface_failed');
    if (restartTicket) { restartTicket.done = true; restartTicket = null; }
    // A restart is a natural cycle: the next run starts with a short history carrying the state.
    await continueWhenIdle();
  }
}
