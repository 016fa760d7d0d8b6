import { ApplicationFailure } from '@temporalio/common';

/** Texts of the messages sent to parties. One template serves e-mail, SMS and in-site message alike. */
type Vars = Record<string, unknown>;
const cents = (v: unknown) => `${(Number(v ?? 0) / 100).toFixed(2)}`;
const str = (v: unknown) => (Array.isArray(v) ? v.map((x) => `- ${String(x)}`).join('\n') : String(v ?? ''));

const templates: Record<string, (v: Vars) => { subject: string; body: string }> = {
  'review.approved': (v) => ({
    subject: `Your marketplace application ${str(v.applicationId)} is approved`,
    body: `Your application ${str(v.applicationId)} has been approved. Seller account: ${str(v.merchantId)}.${v.note ? `\nNote from the reviewer: ${str(v.note)}` : ''}`,
  }),
  'review.rejected': (v) => ({
    subject: `Your marketplace application ${str(v.applicationId)} needs changes`,
    body: `Your application ${str(v.applicationId)} (round ${str(v.round)}) was rejected for these reasons:\n${str(v.reasons)}\nPlease correct it and resubmit.`,
  }),
  'review.expired': (v) => ({
    subject: `Your marketplace application ${str(v.applicationId)} was closed`,
    body: `Your application ${str(v.applicationId)} was closed because it was not resubmitted within ${str(v.days)} days.`,
  }),
  'provision.failed': (v) => ({
    subject: `Production interface call failed for order line ${str(v.orderLineId)}`,
    body: `Attempt ${str(v.attempt)} to create the instance for order line ${str(v.orderLineId)} failed: ${str(v.error)}. The marketplace retries automatically.`,
  }),
  'provision.retries_exhausted': (v) => ({
    subject: `Order line ${str(v.orderLineId)} needs you: automatic retries stopped`,
    body: `After ${str(v.attempts)} attempts the marketplace stopped calling your production interface for order line ${str(v.orderLineId)} (last error: ${str(v.error)}). Fix the interface and restart the call, or deliver by hand.`,
  }),
  'dial.failed': (v) => ({
    subject: `Dial test failed for product ${str(v.productId)}`,
    body: `The marketplace's dial test of your production interface for product ${str(v.productId)} failed:\n${str(v.failures)}\nAfter 5 consecutive days with a failed dial test, trading in the product is frozen.`,
  }),
  'dial.skipped': (v) => ({
    subject: `Dial-test round ${str(v.roundId)}: products skipped on our side`,
    body: `These products were not dialed because of a fault on the marketplace's side (nothing was counted against their sellers):\n${str(v.products)}`,
  }),
  'dial.frozen': (v) => ({
    subject: `Trading in product ${str(v.productId)} is frozen`,
    body: `Dial tests of product ${str(v.productId)} failed on ${str(v.days)} consecutive days, so it is hidden and cannot be bought until an operator lifts the freeze.`,
  }),
  'process.stuck': (v) => ({
    subject: `Process ${str(v.workflowId)} is stuck on our side`,
    body: `The process ${str(v.workflowId)} (${str(v.subjectId)}) cannot go on: step ${str(v.step)} failed with ${str(v.failureType)}: ${str(v.message)}.\nIt re-checks by itself; once the cause is fixed, retry it with POST /v1/stuck-processes/${str(v.workflowId)}/retry or find it in the Web UI with Stuck = true.`,
  }),
  'conformance.failed': (v) => ({
    subject: `Conformance run ${str(v.runId)} of product ${str(v.productId)} found problems`,
    body: `The conformance run ${str(v.runId)} of your production interface for product ${str(v.productId)} failed these checks:\n${str(v.failures)}\nThe run's report shows the requests and replies behind each one.`,
  }),
  'subscription.expiring': (v) => ({
    subject: `Your subscription ${str(v.instanceId)} expires ${str(v.expiresAt)} and will not renew`,
    body: `Instance ${str(v.instanceId)} expires at ${str(v.expiresAt)} (UTC) and its expiry policy is not to renew. It will be frozen then and released at ${str(v.releaseAt)} unless you renew it.`,
  }),
  'subscription.renewed': (v) => ({
    subject: `Your subscription ${str(v.instanceId)} is renewed`,
    body: `Instance ${str(v.instanceId)} is renewed until ${str(v.expiresAt)} (UTC), order ${str(v.orderId)}, ${cents(v.priceCents)} charged to your balance.`,
  }),
  'subscription.renewal_failed': (v) => ({
    subject: `Renewal of your subscription ${str(v.instanceId)} failed`,
    body: `Your balance (${cents(v.balanceCents)}) does not cover the renewal of instance ${str(v.instanceId)} (${cents(v.priceCents)}). The marketplace tries again daily at 03:00 (Asia/Shanghai); the instance expires at ${str(v.expiresAt)} and is released at ${str(v.releaseAt)} (UTC) if it is not renewed.`,
  }),
  'subscription.frozen': (v) => ({
    subject: `Your subscription ${str(v.instanceId)} expired and is frozen`,
    body: `Instance ${str(v.instanceId)} expired at ${str(v.expiresAt)} (UTC) and is frozen: it cannot be used until it is renewed. It will be released at ${str(v.releaseAt)} (UTC).`,
  }),
  'subscription.released': (v) => ({
    subject: `Your ${v.trial ? 'trial' : 'subscription'} ${str(v.instanceId)} was released`,
    body: `Instance ${str(v.instanceId)} was released${v.trial ? ' at the end of its trial' : ' at the end of its retention period'}; its data is no longer kept by the marketplace.`,
  }),
  'subscription.converted': (v) => ({
    subject: `Your trial ${str(v.instanceId)} is now a subscription`,
    body: `Instance ${str(v.instanceId)} is converted to a formal subscription until ${str(v.expiresAt)} (UTC), order ${str(v.orderId)}.`,
  }),
  'subscription.unsubscribed': (v) => ({
    subject: `Your subscription ${str(v.instanceId)} is unsubscribed`,
    body: `Instance ${str(v.instanceId)} is unsubscribed (order ${str(v.orderId)}) and ${cents(v.refundedCents)} returned to your balance; the instance is released.`,
  }),
  'subscription.renewal_unsubscribed': (v) => ({
    subject: `The renewal of your subscription ${str(v.instanceId)} is unsubscribed`,
    body: `The renewal period of order ${str(v.orderId)} is refunded; instance ${str(v.instanceId)} now expires at ${str(v.expiresAt)} (UTC) and will not renew.`,
  }),
  'subscription.seller_calls_stopped': (v) => ({
    subject: `Subscription calls to your interface stopped for instance ${str(v.instanceId)}`,
    body: `After ${str(v.attempts)} attempts in an hour the marketplace stopped calling ${str(v.activity)} for instance ${str(v.instanceId)} (last error: ${str(v.error)}). Fix the interface and restart the calls.`,
  }),
  'asset.approved': (v) => ({
    subject: `Image ${str(v.assetId)} version ${str(v.version)} passed the security scan`,
    body: `Version ${str(v.version)} of your image asset ${str(v.assetId)} meets the image security standard (${str(v.findings)} findings, none blocking). You can release it as an image product.`,
  }),
  'asset.rejected': (v) => ({
    subject: `Image ${str(v.assetId)} version ${str(v.version)} failed the security scan`,
    body: `Version ${str(v.version)} of your image asset ${str(v.assetId)} has ${str(v.blocking)} blocking findings (rules: ${(v.rules as string[] | undefined)?.join(', ') ?? ''}). Download the scan report, fix the image and upload a new version.`,
  }),
  'asset.flagged': (v) => ({
    subject: `Image ${str(v.assetId)} version ${str(v.version)} is now vulnerable`,
    body: `A rescan of version ${str(v.version)} of your image asset ${str(v.assetId)} against the updated vulnerability feed found ${str(v.blocking)} blocking findings (rules: ${(v.rules as string[] | undefined)?.join(', ') ?? ''}). Download the new scan report, fix the image and upload a new version.`,
  }),
  'release.approved': (v) => ({
    subject: `Your image product release ${str(v.applicationId)} is approved`,
    body: `Release application ${str(v.applicationId)} has been approved: product ${str(v.productId)} is listed in the catalog.${v.note ? `\nNote from the reviewer: ${str(v.note)}` : ''}`,
  }),
  'release.rejected': (v) => ({
    subject: `Your image product release ${str(v.applicationId)} needs changes`,
    body: `Release application ${str(v.applicationId)} (round ${str(v.round)}) was rejected for these reasons:\n${str(v.reasons)}\nEdit the application and resubmit it.`,
  }),
  'release.expired': (v) => ({
    subject: `Your image product release ${str(v.applicationId)} was closed`,
    body: `Release application ${str(v.applicationId)} was closed because it was not resubmitted within ${str(v.days)} days.`,
  }),
  'supervision.action': (v) => ({
    subject: `Order line ${str(v.orderLineId)}: ${str(v.action)}`,
    body: `The service supervision of order line ${str(v.orderLineId)} moved on (${str(v.action)}); it is now in stage ${str(v.stage)}.`,
  }),
  'supervision.appeal_opened': (v) => ({
    subject: `Order line ${str(v.orderLineId)}: an appeal is open`,
    body: `An appeal for order line ${str(v.orderLineId)} was opened for the ${str(v.by)} (${str(v.ground)}): ${str(v.reason)}\nThe supervision is frozen until the marketplace's operations decide.`,
  }),
  'supervision.appeal_decided': (v) => ({
    subject: `Order line ${str(v.orderLineId)}: the appeal is decided`,
    body: `Operations decided the appeal for order line ${str(v.orderLineId)}: ${str(v.decision)}. The supervision is now in stage ${str(v.stage)}.`,
  }),
  'supervision.completed': (v) => ({
    subject: `Order line ${str(v.orderLineId)} is completed`,
    body: `Order line ${str(v.orderLineId)} was accepted at ${str(v.acceptedAt)} and is completed; settlement follows.`,
  }),
  'supervision.refunded': (v) => ({
    subject: `Order line ${str(v.orderLineId)} is refunded`,
    body: `Order line ${str(v.orderLineId)} was refunded to the buyer: ${str(v.reason)}.`,
  }),
  'reconcile.found': (v) => ({
    subject: 'Reconciliation: processes whose workflow closed while their record is open',
    body: `Started again: ${str(v.repaired) || 'none'}\nFor operators to decide (GET /v1/stuck-processes): ${str(v.flagged) || 'none'}`,
  }),
  'review.overdue': (v) => ({
    subject: `Review ${str(v.applicationId)} is overdue`,
    body: `The ${str(v.kind)} review ${str(v.applicationId)} (round ${str(v.round)}) passed its deadline ${str(v.deadline)} without a decision.`,
  }),
};

export function renderTemplate(name: string, vars: Vars): { subject: string; body: string } {
  const t = templates[name];
  // A missing template is a code error: retrying cannot fix it.
  if (!t) throw ApplicationFailure.nonRetryable(`unknown message template ${name}`, 'UnknownTemplate');
  return t(vars);
}
