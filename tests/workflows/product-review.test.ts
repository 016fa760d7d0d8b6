import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageAssets, imageAssetVersions, merchants, notifications, principals, productApplicationRevisions, productApplications, productReviewEvents, products, skus } from '../../db/schema';
import { newId } from '../../domain/ids';
import { shanghaiDate } from '../../domain/working-days';
import {
  approveReleaseUpdate, productReviewStateQuery, productReviewWorkflowId, rejectReleaseUpdate, resubmitReleaseUpdate, type ProductReviewInput,
} from '../../workflows/product-review-messages';
import { expectHistoryWithin, report } from '../support/history';
import { recordHistory } from '../support/replay';
import { addDays, cst, HOUR, nextWeekday, startReviewHarness, type ReviewHarness } from '../support/review-harness';

/** docs/product-review.md: events per run (a round opened, overdue and escalated, decided, resubmitted, continued as new), as merchant-review's. */
const PER_RUN = 100;

let h: ReviewHarness;
let merchantId: string;
let seller: string;
let versionId: string;
beforeAll(async () => {
  h = await startReviewHarness();
  await h.startWorker();
  merchantId = newId('M', 12);
  seller = newId('P', 12);
  await h.db.insert(principals).values({ id: seller, role: 'seller', name: 'Seller', merchantId });
  await h.db.insert(merchants).values({ id: merchantId, ownerPrincipalId: h.applicant, status: 'active', onboardingApplicationId: 'MA-test', profile: { customerServiceEmail: 'cs@release.example.com', contactPhone: '+8613800000022' } });
  const assetId = newId('IA', 14);
  versionId = newId('IV', 16);
  await h.db.insert(imageAssets).values({ id: assetId, merchantId, name: 'LAMP', os: 'Debian 12', regions: ['cn-north-4'], securityGroup: {}, createdBy: seller });
  await h.db.insert(imageAssetVersions).values({ id: versionId, assetId, version: '1.0', status: 'approved', artifactKey: 'k', compression: 'none', sizeBytes: 1, sha256: 'x', uploadedBy: seller, workflowId: 'w' });
});
afterAll(async () => h?.close());

const iso = (ms: number) => new Date(ms).toISOString();
const today = async () => new Date((await h.env.currentTimeMs()) + 8 * HOUR).toISOString().slice(0, 10);
const until = async (pred: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 200; i++) { if (await pred()) return; await new Promise((r) => setTimeout(r, 50)); }
  throw new Error(`timed out waiting for ${what}`);
};

/** Files a release application as the API does (row, then workflow). */
async function file(name: string, pricing: Record<string, unknown> = { mode: 'free' }) {
  const id = newId('PA');
  const now = new Date(await h.env.currentTimeMs());
  await h.db.insert(productApplications).values({
    id, merchantId, applicantPrincipalId: seller, imageVersionId: versionId, status: 'pending', filedDay: shanghaiDate(now), openedAt: now, createdAt: now,
    payload: { name, description: `${name} on Debian 12`, pricing, regions: ['cn-north-4'] }, workflowId: productReviewWorkflowId(id),
  });
  const input: ProductReviewInput = { applicationId: id, merchantId, workingDays: 3, extensionDays: h.config.PRODUCT_REVIEW_EXTENSION_DAYS, busyThreshold: h.config.PRODUCT_REVIEW_BUSY_THRESHOLD, resubmitWindowDays: 30, openedAt: now.toISOString() };
  const handle = await h.env.client.workflow.start('productReview', { workflowId: productReviewWorkflowId(id), taskQueue: h.config.TEMPORAL_TASK_QUEUE, args: [input] });
  await until(async () => (await handle.query(productReviewStateQuery)).deadline !== null, `the deadline of ${name}`);
  return { id, handle };
}

describe('the release review of image products on the time-skipping server', () => {
  it('gives 3 working days, and 4 from the tenth application the seller files that day, to the exact instant', async () => {
    await h.useCalendar([]);
    const monday = nextWeekday(addDays(await today(), 1), 1);
    await h.skipTo(cst(monday, 10));
    const cases = [];
    for (let i = 1; i <= 10; i++) cases.push(await file(`Image ${i}`));
    // Monday 10:00: Tue (1), Wed (2), Thu (3) → 24:00 Thursday; the tenth: Fri (4) → 24:00 Friday.
    const threeDays = cst(addDays(monday, 4));
    const fourDays = cst(addDays(monday, 5));
    for (const c of cases.slice(0, 9)) expect((await c.handle.query(productReviewStateQuery)).deadline).toBe(iso(threeDays));
    const tenth = cases[9]!;
    expect((await tenth.handle.query(productReviewStateQuery)).deadline).toBe(iso(fourDays));
    const [opened] = await h.db.select().from(productReviewEvents).where(and(eq(productReviewEvents.applicationId, tenth.id), eq(productReviewEvents.type, 'round_opened')));
    expect(opened!.data).toMatchObject({ workingDays: 4, filedThatDay: 10 });

    const ninth = cases[8]!;
    await h.skipTo(threeDays - 1000);
    expect((await ninth.handle.query(productReviewStateQuery)).status).toBe('pending');
    await h.skipTo(threeDays + 1000);
    await until(async () => (await ninth.handle.query(productReviewStateQuery)).status === 'overdue', 'the ninth overdue');
    expect((await tenth.handle.query(productReviewStateQuery)).status).toBe('pending');
    await h.skipTo(fourDays - 1000);
    expect((await tenth.handle.query(productReviewStateQuery)).status).toBe('pending');
    await h.skipTo(fourDays + 1000);
    await until(async () => (await tenth.handle.query(productReviewStateQuery)).status === 'overdue', 'the tenth overdue');
    const [row] = await h.db.select().from(productApplications).where(eq(productApplications.id, tenth.id));
    expect(row).toMatchObject({ status: 'pending', overdue: true });
    expect(row!.deadline?.getTime()).toBe(fourDays);

    // Overdue never decides: operators still do. The first ones are closed so the next test starts clean.
    for (const c of cases) await c.handle.executeUpdate(rejectReleaseUpdate, { args: [{ operatorId: h.operator, reasons: ['batch closed'] }] });
    await recordHistory(tenth.handle, 'tenth-of-the-day-overdue-rejected');
    await expectHistoryWithin(h.env.client, tenth.handle, PER_RUN);
  });

  it('lists an approved product in the catalog and tells the seller; a rejected one is edited and resubmitted into the same case, which continues as new', async () => {
    await h.useCalendar([]);
    await h.env.sleep(3 * 86_400_000);
    const { id, handle } = await file('Web server', { mode: 'period', monthlyCents: 9900, yearlyCents: 99000 });
    const firstRunId = (await handle.describe()).runId;
    const rejected = await handle.executeUpdate(rejectReleaseUpdate, { args: [{ operatorId: h.operator, reasons: ['describe the open ports'] }] });
    expect(rejected.status).toBe('rejected');
    await until(async () => h.inbox.mails.some((m) => m.subject.includes(id) && m.subject.includes('needs changes')), 'the rejection mail');
    expect(h.inbox.mails.find((m) => m.subject.includes(id))!.to).toEqual(['cs@release.example.com']);

    const revisionId = newId('RV');
    await h.db.insert(productApplicationRevisions).values({ id: revisionId, applicationId: id, payload: { name: 'Web server', description: 'nginx on Debian 12; opens 80 and 443', pricing: { mode: 'period', monthlyCents: 9900, yearlyCents: 99000 }, regions: ['cn-north-4'] } });
    const resubmitted = await handle.executeUpdate(resubmitReleaseUpdate, { args: [{ applicantId: seller, revisionId }] });
    expect(resubmitted).toMatchObject({ status: 'pending', round: 2 });
    expect(Date.parse(resubmitted.deadline!)).toBeGreaterThan(await h.env.currentTimeMs());

    const approved = await handle.executeUpdate(approveReleaseUpdate, { args: [{ operatorId: h.operator, note: 'welcome' }] });
    expect(approved).toMatchObject({ status: 'approved', productId: expect.stringMatching(/^PR/) });
    const [product] = await h.db.select().from(products).where(eq(products.id, approved.productId!));
    expect(product).toMatchObject({ merchantId, deliveryType: 'image', status: 'on_sale', imageVersionId: versionId, releaseApplicationId: id, description: 'nginx on Debian 12; opens 80 and 443' });
    expect((await h.db.select().from(skus).where(eq(skus.productId, product!.id))).map((s) => [s.chargingMode, s.priceCents]).sort()).toEqual([['monthly', 9900], ['yearly', 99000]]);
    await until(async () => (await h.db.select().from(notifications).where(and(eq(notifications.recipientPrincipalId, seller), eq(notifications.channel, 'inapp')))).some((n) => n.subject.includes(id) && n.subject.includes('approved')), 'the in-site message');
    expect(h.inbox.mails.some((m) => m.subject.includes(id) && m.subject.includes('approved'))).toBe(true);
    expect(h.inbox.sms.some((s) => s.text.includes(id) && s.text.includes('approved'))).toBe(true);
    expect((await h.db.select().from(productReviewEvents).where(eq(productReviewEvents.applicationId, id))).map((e) => `${e.round}:${e.type}`))
      .toEqual(['1:round_opened', '1:rejected', '2:resubmitted', '2:round_opened', '2:approved']);
    expect(await handle.result()).toMatchObject({ status: 'approved', round: 2 });
    // The resubmission opened round 2 in a new run (the same patch as merchant-review's, shared machinery).
    await recordHistory(h.env.client.workflow.getHandle(handle.workflowId, firstRunId), 'rejected-resubmitted-continued-as-new');
    const lengths = await expectHistoryWithin(h.env.client, handle, PER_RUN, firstRunId);
    expect(lengths).toHaveLength(2);
    report(`productReview rejected, resubmitted, approved: ${lengths.join(', ')} events per run`);
  });
});
