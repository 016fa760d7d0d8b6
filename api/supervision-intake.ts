import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { orderLines, orders, products } from '../db/schema';
import { firstStage, type ProductKind, type ProofKind, type SupervisionRules } from '../domain/supervision';
import { SA } from '../workflows/merchant-review-messages';
import { PROVISION_SA } from '../workflows/saas-provision-messages';
import { withTemporalDeadline } from './updates';
import { SUPERVISION_SA, supervisionWorkflowId, type SupervisionInput } from '../workflows/supervision-messages';

type Line = typeof orderLines.$inferSelect;
type Product = Pick<typeof products.$inferSelect, 'id' | 'deliveryType' | 'deliveryTemplate'>;
type Order = Pick<typeof orders.$inferSelect, 'buyerPrincipalId'>;

/** The flow's rules from configuration; the workflow keeps the snapshot it started with. */
export const supervisionRules = (c: Config): SupervisionRules => ({
  idleLimitMs: { requirement: c.SUPERVISION_IDLE_MS, requirement_review: c.SUPERVISION_IDLE_MS, delivery: c.SUPERVISION_IDLE_MS, acceptance: c.SUPERVISION_IDLE_MS },
  acceptanceTimeoutMs: c.SUPERVISION_ACCEPTANCE_TIMEOUT_MS,
  hardwareAutoAcceptMs: c.SUPERVISION_HARDWARE_AUTO_ACCEPT_MS,
  refundAnswerLimitMs: c.SUPERVISION_REFUND_ANSWER_MS,
  rejectionLimit: c.SUPERVISION_REJECTION_LIMIT,
  buyerMayAlwaysAppeal: c.SUPERVISION_BUYER_APPEALS_ANY_STAGE,
});

export const supervisionInput = (config: Config, line: Line, order: Order, product: Product): SupervisionInput => ({
  orderLineId: line.id, buyerId: order.buyerPrincipalId, merchantId: line.merchantId, productId: line.productId,
  kind: product.deliveryType as ProductKind, deliveryTemplate: product.deliveryTemplate as ProofKind[],
  rules: supervisionRules(config), paidAt: line.createdAt.getTime(),
});

/**
 * Starts the supervision of a paid line (decision 008: the order line is the durable record, this start
 * is idempotent by the line's id, and the orders sweep starts any that was missed). The first stage
 * counts from payment, so a late start does not move it.
 */
export async function startSupervision(temporal: Client, config: Config, line: Line, order: Order, product: Product) {
  const input = supervisionInput(config, line, order, product);
  await withTemporalDeadline(temporal, () => temporal.workflow.start('supervision', {
    workflowId: supervisionWorkflowId(line.id), taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `Service supervision of order line ${line.id} (${product.deliveryType})`,
    typedSearchAttributes: [
      { key: SUPERVISION_SA.stage, value: firstStage(input.kind) }, { key: SUPERVISION_SA.appeal, value: 'none' },
      { key: SUPERVISION_SA.idleSince, value: new Date(input.paidAt) },
      { key: PROVISION_SA.productId, value: line.productId }, { key: SA.merchantId, value: line.merchantId },
    ],
  })).catch((e: Error) => { if (e.name !== 'WorkflowExecutionAlreadyStartedError') throw e; });
}
