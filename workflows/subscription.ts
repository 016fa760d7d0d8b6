import {
  allHandlersFinished, ApplicationFailure, condition, continueAsNew, proxyActivities, setCurrentDetails, setHandler,
  upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { NotifyActivities } from '../activities/notify';
import type { SubscriptionActivities } from '../activities/subscription';
import { addPeriods } from '../domain/periods';
import { canUnsubscribeWithoutReason, nextAction, releaseAt, renewalSpan, type NextAction } from '../domain/subscription';
import { DB_WRITES, notifications } from './activity-options';
import { createStuckGuard } from './stuck';
import { SA } from './merchant-review-messages';
import { PROVISION_SA } from './saas-provision-messages';
import {
  convertUpdate, INSUFFICIENT_BALANCE, renewalView, renewUpdate, restartSellerCallsUpdate, setPolicyUpdate,
  SUBSCRIPTION_NOT_ALLOWED, SUBSCRIPTION_SA, subscriptionQuery, UNSUBSCRIBE_QUOTA, unsubscribeRenewalUpdate, unsubscribeUpdate,
  type Outbox, type OwedCall, type SellerCall, type SubscriptionInput, type SubscriptionState, type SubscriptionView,
} from './subscription-messages';

const db = proxyActivities<SubscriptionActivities>(DB_WRITES);
// One seller call per activity execution: the outbox owns the retry schedule (decision 006), so every attempt is
// recorded. Two minutes cover a wait for a free slot of the seller's endpoint plus the longest call timeout.
const seller = proxyActivities<SubscriptionActivities>({ startToCloseTimeout: '2 minutes', retry: { maximumAttempts: 1 } });
const notify = proxyActivities<NotifyActivities>(notifications('1 hour'));

/**
 * The most events one run's history holds: it continues as new at SUBSCRIPTION_HISTORY_LIMIT (1,500 by default),
 * and one pass of the timeline plus an hour of outbox attempts adds far fewer than 500 (docs/subscription.md).
 */
export const SUBSCRIPTION_RUN_BOUND = 2000;

/** Renewals paid ahead and not begun, at most: a buyer cannot stack periods without end. */
export const MAX_PENDING_RENEWALS = 3;
/** Terms one manual renewal may buy. */
export const MAX_RENEWAL_TERMS = 12;

/**
 * One yearly/monthly instance from delivery to release (docs/subscription.md): auto-renewal at 03:00 Asia/Shanghai
 * seven days before expiry and daily after a failure, the freeze at expiry, the release at the end of retention,
 * manual renewals, trials, unsubscriptions. The seller is told through an outbox that retries each call for an
 * hour and then waits for the seller's restart, beside the buyer's timeline and never in its way. One run per
 * period: the run continues as new when a period begins, or when its history nears the limit.
 */
export async function subscription(input: SubscriptionInput): Promise<SubscriptionView> {
  // The state arrives with the input of a continued run, or from the first activity; messages wait for it.
  // eslint-disable-next-line prefer-const -- assigned once, below the handlers that close over it
  let s!: SubscriptionState;
  // eslint-disable-next-line prefer-const -- the same
  let o!: Outbox;
  let ready = false;
  let changed = false;
  // Our own faults (a missing row, a database that refuses a write) make the process stuck for operators
  // (docs/durable-patterns.md); the step runs again when they retry it.
  const guard = createStuckGuard({ subjectId: input.instanceId, onChange: () => { if (ready) publish(); changed = true; } });
  let busy = false;
  let stopping = false;
  let periodBegan = false;
  const inFlight = new Set<Promise<unknown>>();

  const refuse = (why: string, type = SUBSCRIPTION_NOT_ALLOWED): never => { throw ApplicationFailure.create({ type, message: why, nonRetryable: true }); };
  const iso = (ms: number) => new Date(ms).toISOString();
  const next = (): NextAction | null => nextAction(s, s.terms, Date.now());
  const view = (): SubscriptionView => {
    const n = next();
    return {
      instanceId: s.instanceId, status: s.status, stuck: guard.current()?.failureType ?? null, policy: s.policy, trial: s.status === 'trial',
      expiresAt: iso(s.expiresAt), releaseAt: s.status === 'frozen' || s.status === 'active' ? iso(releaseAt(s, s.terms)) : null,
      nextAction: n?.kind ?? null, nextActionAt: n ? iso(n.at) : null, pendingRenewals: s.renewals.map(renewalView),
      sellerCallsOwed: o.calls.length, sellerCallsWaitingForRestart: o.waiting,
    };
  };
  const publish = () => {
    upsertSearchAttributes([
      { key: SUBSCRIPTION_SA.state, value: [s.status] },
      { key: SUBSCRIPTION_SA.expiresAt, value: new Date(s.expiresAt) },
      { key: PROVISION_SA.productId, value: s.productId },
      { key: SA.merchantId, value: s.merchantId },
    ]);
    const v = view();
    setCurrentDetails(`**${v.stuck ? `stuck: ${v.stuck}` : v.status}** · expires ${v.expiresAt} · ${v.policy}` +
      `${v.nextAction ? ` · next: ${v.nextAction} at ${v.nextActionAt}` : ''}${o.calls.length ? ` · ${o.calls.length} seller call(s) owed${o.waiting ? ', waiting for the seller\'s restart' : ''}` : ''}`);
  };
  /** Writes the read model (and the event that changed it); each write carries a higher revision than the last. */
  let saved = '';
  const save = async (event?: { key: string; type: string; at: number; data?: Record<string, unknown> }) => {
    publish();
    const v = view();
    saved = JSON.stringify(v);
    const revision = ++s.revision;
    await guard.run('save', () => db.saveSubscription({ view: v, revision, ...(event ? { event } : {}) }));
  };
  /** Notifications go out beside the timeline: a mail server that is down delays nothing. */
  const track = (p: Promise<unknown>) => { const q = p.catch(() => undefined); inFlight.add(q); void q.finally(() => inFlight.delete(q)); };
  const tellBuyer = (template: string, key: string, vars: Record<string, unknown> = {}) =>
    track(notify.notifyParty({ dedupeKey: `subscription:${s.instanceId}:${key}`, party: { kind: 'principal', principalId: s.buyerId }, template, vars: { instanceId: s.instanceId, expiresAt: iso(s.expiresAt), ...vars } }));
  const owe = (call: OwedCall) => { o.calls.push({ ...call, seq: o.nextSeq++ } as SellerCall); };
  /** Handlers and the timeline take turns: one change of state at a time. */
  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    await condition(() => ready && !busy);
    busy = true;
    try { return await fn(); } finally { busy = false; changed = true; }
  };
  const released = () => s.status === 'released';

  // ---- The periods ----

  /** The first pending renewal's period begins: its sale settles, and the run continues as new. */
  async function beginPeriod(at: number) {
    const r = s.renewals.shift()!;
    await guard.run('begin-period', () => db.beginPeriod({ instanceId: s.instanceId, orderId: r.orderId, orderLineId: r.orderLineId, at }));
    s.status = 'active';
    s.noticeFor = null;
    periodBegan = true;
  }

  /** Charges `terms` more terms; false when the balance is too low. */
  async function renew(trigger: 'auto' | 'manual', terms: number, at: number): Promise<boolean> {
    const periods = terms * s.terms.termPeriods;
    const span = renewalSpan(s.anchorAt, s.periodsPaid, s.expiresAt, s.terms.unit, periods);
    const r = await guard.run('renew', () => db.renew({ instanceId: s.instanceId, seq: s.renewalCount + 1, trigger, terms, periods, ...span, at }));
    if (!r.ok) {
      tellBuyer('subscription.renewal_failed', `renewal-failed:${at}`, { priceCents: r.priceCents, balanceCents: r.balanceCents, releaseAt: iso(releaseAt(s, s.terms)) });
      return false;
    }
    s.renewalCount++;
    s.periodsPaid += periods;
    s.expiresAt = span.endsAt;
    s.renewals.push({ orderId: r.orderId, orderLineId: r.orderLineId, periods, ...span });
    owe({ activity: 'refreshInstance', scene: 'RENEWAL', orderId: r.orderId, orderLineId: r.orderLineId, expiresAt: span.endsAt });
    const wasFrozen = s.status === 'frozen';
    // A frozen instance's new period began at the original expiry: it is in effect at once, and the seller unfreezes after the renewal.
    if (wasFrozen) {
      await beginPeriod(at);
      owe({ activity: 'updateInstanceStatus', status: 'UNFREEZE' });
    }
    // The renewal's own event was written with its charge; unfreezing is one more.
    await save(wasFrozen ? { key: `unfrozen:${r.orderId}`, type: 'unfrozen', at, data: { orderId: r.orderId } } : undefined);
    tellBuyer('subscription.renewed', `renewed:${r.orderId}`, { orderId: r.orderId, priceCents: r.priceCents });
    return true;
  }

  /** A scheduled action, due now. */
  async function perform(a: NextAction) {
    switch (a.kind) {
      case 'begin-period':
        await beginPeriod(a.at);
        await save();
        return;
      case 'renew':
        s.lastAttemptAt = a.at;
        if (!(await renew('auto', 1, a.at))) await save();
        return;
      case 'notify-expiring':
        s.noticeFor = s.expiresAt;
        tellBuyer('subscription.expiring', `expiring:${s.expiresAt}`, { releaseAt: iso(releaseAt(s, s.terms)) });
        await save({ key: `notice:${s.expiresAt}`, type: 'expiry_notice', at: a.at });
        return;
      case 'freeze':
        s.status = 'frozen';
        owe({ activity: 'updateInstanceStatus', status: 'FREEZE' });
        await save({ key: `frozen:${s.expiresAt}`, type: 'frozen', at: a.at });
        tellBuyer('subscription.frozen', `frozen:${s.expiresAt}`, { releaseAt: iso(releaseAt(s, s.terms)) });
        return;
      case 'release':
      case 'end-trial':
        s.status = 'released';
        owe({ activity: 'releaseInstance' });
        await save({ key: 'released', type: a.kind === 'end-trial' ? 'trial_ended' : 'released', at: a.at });
        tellBuyer('subscription.released', 'released', { trial: a.kind === 'end-trial' });
        return;
    }
  }

  // ---- The buyer's, the seller's and the operators' messages ----

  // Each check runs twice: in the validator (nothing enters history when it fails), and again when the handler's turn
  // comes, because the state may have moved in between. Before the state is loaded, only the second one runs.
  const checks = {
    policy: ({ policy }: { policy: string }) => {
      if (policy !== 'auto_renew' && policy !== 'no_renewal') refuse('policy must be auto_renew or no_renewal');
      if (released() || s.status === 'trial') refuse(`a ${s.status} subscription has no expiry policy to change`);
    },
    renew: ({ terms }: { terms: number }) => {
      if (!Number.isInteger(terms) || terms < 1 || terms > MAX_RENEWAL_TERMS) refuse(`terms must be a whole number from 1 to ${MAX_RENEWAL_TERMS}`);
      if (released() || s.status === 'trial') refuse(`a ${s.status} subscription cannot be renewed${s.status === 'trial' ? '; convert it first' : ''}`);
      if (s.renewals.length >= MAX_PENDING_RENEWALS) refuse(`${MAX_PENDING_RENEWALS} renewals are already paid ahead`);
    },
    convert: () => { if (s.status !== 'trial') refuse(`the subscription is ${s.status}, not a trial`); },
    unsubscribe: () => {
      if (s.status === 'trial' || released()) refuse(`a ${s.status} subscription cannot be unsubscribed`);
      if (!canUnsubscribeWithoutReason(s.deliveredAt, s.settings.unsubscribeWindowDays, Date.now())) refuse(`the ${s.settings.unsubscribeWindowDays}-day no-reason unsubscription window after provisioning has passed`);
    },
    unsubscribeRenewal: () => { if (s.renewals.length === 0) refuse('no renewal period is waiting to begin'); },
    restart: () => { if (!o.waiting) refuse(o.calls.length ? 'the seller calls are still being retried' : 'no seller call is waiting for a restart'); },
  };
  const before = <A>(check: (a: A) => void) => (a: A) => { if (ready) check(a); };

  setHandler(subscriptionQuery, () => {
    if (!ready) throw ApplicationFailure.create({ type: SUBSCRIPTION_NOT_ALLOWED, message: 'the subscription is starting' });
    return view();
  }, { description: 'The subscription: state, expiry, policy, the next scheduled action and its instant (ISO 8601 UTC), pending renewals and seller calls owed.' });

  setHandler(setPolicyUpdate, (a) => exclusive(async () => {
    checks.policy(a);
    if (a.policy !== s.policy) s.policySince = Date.now();
    s.policy = a.policy;
    await save({ key: `policy:${s.revision}`, type: 'policy_changed', at: Date.now(), data: { policy: a.policy } });
    return view();
  }), { description: 'The buyer sets the expiry policy (auto_renew or no_renewal); it takes effect on the very next timer.', validator: before(checks.policy) });

  setHandler(renewUpdate, (a) => exclusive(async () => {
    checks.renew(a);
    if (!(await renew('manual', a.terms, Date.now()))) refuse('the account balance does not cover the renewal', INSUFFICIENT_BALANCE);
    return view();
  }), { description: 'The buyer renews for N terms now, frozen included; the new period starts at the original expiry.', validator: before(checks.renew) });

  setHandler(convertUpdate, (_: Record<string, never>) => exclusive(async () => {
    checks.convert();
    const at = Date.now();
    const endsAt = addPeriods(new Date(at), s.terms.unit, s.terms.termPeriods).getTime();
    const r = await guard.run('convert', () => db.convert({ instanceId: s.instanceId, periods: s.terms.termPeriods, startsAt: at, endsAt, at }));
    if (!r.ok) return refuse('the account balance does not cover the formal period', INSUFFICIENT_BALANCE);
    // The formal period starts now; expiries count from it from now on.
    s.status = 'active';
    s.anchorAt = at;
    s.periodsPaid = s.terms.termPeriods;
    s.expiresAt = endsAt;
    s.lastAttemptAt = null;
    s.noticeFor = null;
    owe({ activity: 'refreshInstance', scene: 'TRIAL_TO_FORMAL', orderId: r.orderId, orderLineId: r.orderLineId, expiresAt: endsAt });
    await save();
    tellBuyer('subscription.converted', 'converted', { orderId: r.orderId });
    periodBegan = true;
    return view();
  }), {
    description: 'The buyer converts a trial into a formal subscription: one term is charged, and the seller gets refreshInstance TRIAL_TO_FORMAL.',
    validator: before(checks.convert),
  });

  setHandler(unsubscribeUpdate, (_: Record<string, never>) => exclusive(async () => {
    checks.unsubscribe();
    const at = Date.now();
    const r = await guard.run('unsubscribe', () => db.unsubscribe({ instanceId: s.instanceId, at }));
    if (!r.ok) return refuse(`no-reason unsubscriptions are limited to ${r.quota} a calendar year, and ${r.used} were used`, UNSUBSCRIBE_QUOTA);
    s.status = 'released';
    s.renewals = [];
    owe({ activity: 'releaseInstance', orderId: r.orderId, orderLineId: r.orderLineId });
    await save();
    tellBuyer('subscription.unsubscribed', 'unsubscribed', { orderId: r.orderId, refundedCents: r.refundedCents });
    return view();
  }), {
    description: 'The buyer unsubscribes within 5 days of provisioning without a reason: a full refund, then releaseInstance. At most 10 a calendar year.',
    validator: before(checks.unsubscribe),
  });

  setHandler(unsubscribeRenewalUpdate, (_: Record<string, never>) => exclusive(async () => {
    checks.unsubscribeRenewal();
    const last = s.renewals.at(-1)!;
    const at = Date.now();
    await guard.run('unsubscribe-renewal', () => db.unsubscribeRenewal({ instanceId: s.instanceId, orderId: last.orderId, orderLineId: last.orderLineId, at }));
    s.renewals.pop();
    s.expiresAt = last.startsAt;
    s.periodsPaid -= last.periods;
    // The buyer said no to this renewal: the next 03:00 must not buy it again.
    if (s.policy !== 'no_renewal') s.policySince = at;
    s.policy = 'no_renewal';
    owe({ activity: 'refreshInstance', scene: 'UNSUBSCRIBE_RENEWAL_PERIOD', orderId: last.orderId, orderLineId: last.orderLineId, expiresAt: s.expiresAt });
    await save();
    tellBuyer('subscription.renewal_unsubscribed', `renewal-unsubscribed:${last.orderId}`, { orderId: last.orderId });
    return view();
  }), {
    description: 'The buyer unsubscribes the latest renewal period that has not begun: it is refunded, the expiry goes back, and the seller gets UNSUBSCRIBE_RENEWAL_PERIOD.',
    validator: before(checks.unsubscribeRenewal),
  });

  setHandler(restartSellerCallsUpdate, (_: Record<string, never>) => exclusive(async () => {
    checks.restart();
    o.waiting = false;
    o.retryUntil = null;
    o.nextAttemptAt = null;
    return view();
  }), { description: 'The seller fixed its interface: the calls owed are tried again, for another hour.', validator: before(checks.restart) });

  const startedAt = Date.now();
  s = input.state ?? await guard.run('begin', () => db.beginSubscription({ instanceId: input.instanceId, at: startedAt }));
  o = s.outbox;
  s.run++;
  ready = true;

  // ---- The seller's outbox, beside the timeline ----

  async function outbox() {
    for (;;) {
      await condition(() => stopping || (o.calls.length > 0 && !o.waiting));
      if (stopping) return;
      if (o.nextAttemptAt !== null && o.nextAttemptAt > Date.now() && await condition(() => stopping || o.nextAttemptAt === null, o.nextAttemptAt - Date.now())) {
        if (stopping) return;
      }
      const call = o.calls[0]!;
      o.retryUntil ??= Date.now() + s.settings.retryWindowMs;
      o.attempt++;
      const r = await seller.callSeller({ instanceId: s.instanceId, productId: s.productId, orderLineId: s.orderLineId, call, attempt: o.attempt })
        .catch((e: unknown) => ({ outcome: 'retryable' as const, error: String((e as Error).message ?? e) }));
      if (r.outcome === 'success') {
        o.calls.shift();
        Object.assign(o, { attempt: 0, retryUntil: null, nextAttemptAt: null });
        continue;
      }
      const again = Date.now() + s.settings.retryIntervalMs;
      if (again < o.retryUntil!) { o.nextAttemptAt = again; continue; }
      o.waiting = true;
      o.nextAttemptAt = null;
      changed = true;
      track(notify.notifyParty({
        dedupeKey: `subscription:${s.instanceId}:calls-stopped:${call.seq}:${o.attempt}`, party: { kind: 'merchant', merchantId: s.merchantId },
        template: 'subscription.seller_calls_stopped', vars: { instanceId: s.instanceId, activity: call.activity, attempts: o.attempt, error: r.error },
      }));
    }
  }

  // ---- The timeline ----

  const runOutbox = outbox();
  const finished = () => released() && o.calls.length === 0;
  const nearLimit = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= s.settings.historyLimit;
  if (!input.state) await save({ key: 'started', type: s.status === 'trial' ? 'trial_started' : 'started', at: s.deliveredAt });
  else publish();

  while (!finished()) {
    if (periodBegan || nearLimit()) break;
    const due = next();
    if (JSON.stringify(view()) !== saved) await save();
    changed = false;
    const wait = due ? due.at - Date.now() : undefined;
    if (wait === undefined || wait > 0) {
      if (await condition(() => changed || finished(), wait)) continue;
    }
    await exclusive(async () => {
      const a = next();
      if (!a || a.at > Date.now()) return;
      await perform(a);
    });
  }

  // A new run per period, and before the history grows too long: the outbox stops at a safe point and its queue carries over.
  stopping = true;
  await runOutbox;
  await condition(allHandlersFinished);
  await Promise.all([...inFlight]);
  if (!finished()) return continueAsNew<typeof subscription>({ instanceId: s.instanceId, state: s });
  await save();
  return view();
}
