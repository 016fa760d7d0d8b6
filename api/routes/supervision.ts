import { pipeline } from 'node:stream/promises';
import { and, eq, inArray, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { UpdateDefinition } from '@temporalio/common';
import type { Request, Response } from 'express';
import { createArtifactStore } from '../../artifacts';
import { markStarted } from '../../db/workflow-started';
import { orderLines, orders, products, supervisionDownloads, supervisionFiles, supervisionLog, supervisions } from '../../db/schema';
import { idFromKey, newId } from '../../domain/ids';
import { firstStage, isOpen, OPEN_STAGES, PROOF_KINDS, type PartyAction, type ProductKind, type ProofKind } from '../../domain/supervision';
import {
  actUpdate, appealUpdate, decideUpdate, supervisionWorkflowId, type ActRequest, type Attachment,
} from '../../workflows/supervision-messages';
import type { Principal, Role } from '../auth';
import type { RouteContext } from '../app';
import { keyset, pageOf, sortKey } from '../pagination';
import { conflict, notFound, Problem } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { idempotencyHeaders, text } from '../schemas';
import { receiveFiles, SUPERVISION_FILE_TYPES, type UploadedFile } from '../supervision-files';
import { startSupervision } from '../supervision-intake';
import { runUpdate } from '../updates';

type Row = typeof supervisions.$inferSelect;
// Newest activity first: a supervision acted on while a client walks the list moves to the front (decision 022).
const supervisionPages = keyset<Row>('desc', [sortKey.instant(supervisions.updatedAt, (r) => r.updatedAt), sortKey.text(supervisions.orderLineId, (r) => r.orderLineId)]);
const logPages = keyset<{ seq: number }>('asc', [sortKey.int(supervisionLog.seq, (e) => e.seq)]);
const filePages = keyset<{ createdAt: Date; id: string }>('asc', [sortKey.instant(supervisionFiles.createdAt, (f) => f.createdAt), sortKey.text(supervisionFiles.id, (f) => f.id)]);
const downloadPages = keyset<{ d: { id: number } }>('asc', [sortKey.int(supervisionDownloads.id, (r) => r.d.id)]);
const iso = (d: Date | null) => d?.toISOString() ?? null;
const lineParam = z.strictObject({ id: z.string().regex(/^CS[A-Z0-9]{8,30}-\d{6}$/, 'malformed order line id') });
const fileParam = lineParam.extend({ fileId: z.string().regex(/^SF[A-Z0-9]{20}$/, 'malformed file id') });
const instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with an offset' }).transform((s) => Date.parse(s));
const fileIds = z.array(fileParam.shape.fileId).max(20).default([]).describe('ids of files uploaded to this line by the acting party');

const supervisionView = z.object({
  orderLineId: z.string(), orderId: z.string(), productId: z.string(), kind: z.string(),
  started: z.boolean().describe('false for a moment after payment, until the supervision workflow has started'),
  stage: z.enum([...OPEN_STAGES, 'completed', 'refunded']),
  idleSince: z.string().describe('when the current stage began: the party whose turn it is has been idle since'),
  appealState: z.enum(['none', 'open', 'decided']),
  appeal: z.record(z.string(), z.unknown()).nullable(),
  refundRequestedAt: z.string().nullable(),
  rejections: z.object({ buyer: z.number().int(), seller: z.number().int() }),
  deliveredAt: z.string().nullable(), signedOffAt: z.string().nullable(), actualStartAt: z.string().nullable(), acceptedAt: z.string().nullable(),
  validFrom: z.string().nullable(), validUntil: z.string().nullable(),
  logEntries: z.number().int(),
}).meta({ id: 'Supervision' });
const logEntry = z.object({
  seq: z.number().int(), at: z.string(), actorRole: z.string(), actorId: z.string().nullable(), action: z.string(), stage: z.string(),
  stageAfter: z.string(), comment: z.string().nullable(), attachments: z.array(z.string()), data: z.record(z.string(), z.unknown()),
}).meta({ id: 'SupervisionLogEntry' });
const fileView = z.object({
  id: z.string(), kind: z.enum(PROOF_KINDS), filename: z.string(), contentType: z.string(), size: z.number().int(), sha256: z.string(),
  uploaderRole: z.string(), createdAt: z.string(),
}).meta({ id: 'SupervisionFile' });

const toView = (r: Row) => ({
  orderLineId: r.orderLineId, orderId: r.orderId, productId: r.productId, kind: r.kind, started: true, stage: r.stage as z.infer<typeof supervisionView>['stage'],
  idleSince: r.stageEnteredAt.toISOString(), appealState: r.appealState, appeal: r.appeal ?? null, refundRequestedAt: iso(r.refundRequestedAt),
  rejections: { buyer: r.buyerRejections, seller: r.sellerRejections }, deliveredAt: iso(r.deliveredAt), signedOffAt: iso(r.signedOffAt),
  actualStartAt: iso(r.actualStartAt), acceptedAt: iso(r.acceptedAt), validFrom: iso(r.validFrom), validUntil: iso(r.validUntil), logEntries: r.lastSeq,
});
const toFile = (f: typeof supervisionFiles.$inferSelect) => ({
  id: f.id, kind: f.kind as ProofKind, filename: f.filename, contentType: f.contentType, size: f.size, sha256: f.sha256, uploaderRole: f.uploaderRole, createdAt: f.createdAt.toISOString(),
});

/** The party actions, each one endpoint: who may call it and what its body adds to comment and attachments. */
const ACTIONS: { path: string; action: PartyAction; roles: Role[]; summary: string; extra?: z.ZodRawShape }[] = [
  { path: 'requirement', action: 'submitRequirement', roles: ['buyer'], summary: 'Submit (or resubmit) the requirement, with attachments.' },
  { path: 'requirement/confirm', action: 'confirmRequirement', roles: ['seller'], summary: 'Confirm the buyer\'s requirement: the line waits for delivery.' },
  { path: 'requirement/reject', action: 'rejectRequirement', roles: ['seller'], summary: 'Reject the requirement: it goes back to the buyer.' },
  {
    path: 'delivery', action: 'deliver', roles: ['seller'], summary: 'Deliver with proof per the product\'s delivery template, optionally with the actual start time.',
    extra: { actualStartAt: instant.optional().describe('when the service actually started; a periodic line\'s validity starts there') },
  },
  { path: 'acceptance', action: 'accept', roles: ['buyer'], summary: 'Accept the delivery: the line completes and settles.' },
  { path: 'acceptance/reject', action: 'rejectDelivery', roles: ['buyer'], summary: 'Reject the delivery: it goes back to the seller.' },
  {
    path: 'sign-off', action: 'signOff', roles: ['seller', 'operator'], summary: 'Hardware: record the logistics sign-off; 10 days later a line still waiting is accepted.',
    extra: { signedOffAt: instant.optional().describe('when the buyer signed for the goods; default now') },
  },
  { path: 'refund-request', action: 'requestRefund', roles: ['buyer'], summary: 'Ask the seller for a negotiated refund of the line.' },
  { path: 'refund-request/approve', action: 'approveRefund', roles: ['seller'], summary: 'Approve the refund request: the buyer is refunded and the line closes.' },
  { path: 'refund-request/reject', action: 'rejectRefund', roles: ['seller'], summary: 'Reject the refund request: supervision goes on.' },
];

export function supervisionRoutes({ router, registry, db, config, temporal, artifacts }: RouteContext) {
  const store = artifacts ?? createArtifactStore(config);

  /** The line if the caller is its buyer, its seller or an operator, and its product is supervised; anything else is 404. */
  async function visible(p: Principal, id: string) {
    const [r] = await db.select({ line: orderLines, order: orders, product: products }).from(orderLines)
      .innerJoin(orders, eq(orders.id, orderLines.orderId)).innerJoin(products, eq(products.id, orderLines.productId)).where(eq(orderLines.id, id));
    const mine = r && (p.role === 'operator' || (p.role === 'buyer' && r.order.buyerPrincipalId === p.id) || (p.role === 'seller' && p.merchantId === r.line.merchantId));
    if (!r || !r.product.supervised || !mine) throw notFound(`supervised order line ${id}`);
    return r;
  }
  type Visible = Awaited<ReturnType<typeof visible>>;
  async function view(v: Visible) {
    const [row] = await db.select().from(supervisions).where(eq(supervisions.orderLineId, v.line.id));
    if (row) return toView(row);
    // Paid a moment ago: the workflow has not written its first entry yet.
    return {
      orderLineId: v.line.id, orderId: v.order.id, productId: v.product.id, kind: v.product.deliveryType, started: false,
      stage: firstStage(v.product.deliveryType as ProductKind), idleSince: v.line.createdAt.toISOString(), appealState: 'none' as const, appeal: null,
      refundRequestedAt: null, rejections: { buyer: 0, seller: 0 }, deliveredAt: null, signedOffAt: null, actualStartAt: null, acceptedAt: null,
      validFrom: null, validUntil: null, logEntries: 0,
    };
  }
  const sideOf = (p: Principal) => p.role;

  /**
   * Runs an Update on the line's workflow (starting it first if the intake has not yet) and answers with
   * the read model: 200 once the action is written, 202 with `Location` when it was taken but is not
   * written within a few seconds (docs/durable-patterns.md).
   */
  async function update<A extends [unknown, ...unknown[]]>(p: Principal, v: Visible, req: Request, res: Response, def: UpdateDefinition<unknown, A>, args: A) {
    const current = await view(v);
    if (!isOpen(current.stage)) throw conflict(`supervised order line ${v.line.id}: the supervision is ${current.stage}`);
    if (!v.line.workflowStartedAt) {
      await startSupervision(temporal, config, v.line, v.order, v.product);
      await markStarted(db, orderLines, v.line.id, new Date());
    }
    const key = req.get('idempotency-key');
    // The same Idempotency-Key is the same Update: a retried request gets the first answer, and the action happens once.
    const updateId = key ? idFromKey('U', p.id, key, 24) : newId('U', 24);
    const handle = temporal.workflow.getHandle(supervisionWorkflowId(v.line.id));
    const answer = await runUpdate(temporal, `supervised order line ${v.line.id}`, handle, def, args, undefined, updateId);
    if (!answer.done) res.setHeader('Location', `/v1/supervisions/${v.line.id}`);
    return { status: answer.done ? 200 : 202, body: await view(v) };
  }

  /** Files named as attachments must belong to the line and have been uploaded by the acting party's side. */
  async function attachments(p: Principal, v: Visible, ids: string[]): Promise<Attachment[]> {
    if (ids.length === 0) return [];
    const rows = await db.select().from(supervisionFiles).where(and(eq(supervisionFiles.orderLineId, v.line.id), inArray(supervisionFiles.id, ids)));
    const errors = ids.flatMap((id, i) => {
      const f = rows.find((r) => r.id === id);
      if (!f) return [{ field: `body.attachments.${i}`, message: 'no such file on this order line' }];
      if (f.uploaderRole !== sideOf(p) || (p.role === 'buyer' && f.uploadedBy !== p.id)) return [{ field: `body.attachments.${i}`, message: 'only your own uploads can be attached' }];
      return [];
    });
    if (errors.length) throw new Problem(422, 'Unprocessable Content', 'some attachments cannot be used', errors);
    return ids.map((id) => ({ id, kind: rows.find((r) => r.id === id)!.kind as ProofKind }));
  }

  const actionResponses = {
    200: { description: 'The supervision after the action', schema: supervisionView },
    202: { description: 'The action was taken but is not written yet (the database is slow or away): the supervision as it stands; `Location` is the one to follow', schema: supervisionView },
    503: { description: 'Temporal did not take the action in time; it may still apply it: read the supervision before sending it again (with the same Idempotency-Key it happens once)', schema: problemSchema },
    404: { description: 'No such supervised order line of yours', schema: problemSchema },
    409: { description: 'Not possible now: another stage, an open appeal (the flow is frozen), or a closed supervision', schema: problemSchema },
    422: { description: 'Missing proof, bad attachments or times', schema: problemSchema },
  };

  defineRoute(router, registry, {
    method: 'get', path: '/v1/supervisions', tag: 'Supervision', roles: ['buyer', 'seller', 'operator'],
    summary: 'Supervised order lines: a buyer\'s own, a seller\'s, all for operators; newest activity first.',
    query: z.strictObject({
      stage: z.enum([...OPEN_STAGES, 'completed', 'refunded']).optional(), appeal: z.enum(['none', 'open', 'decided']).optional(),
      ...supervisionPages.query,
    }),
    responses: { 200: { description: 'Supervisions', schema: pageOf(supervisionView) } },
    handler: async ({ principal, query }) => {
      const where: (SQL | undefined)[] = [
        principal.role === 'buyer' ? eq(supervisions.buyerPrincipalId, principal.id) : principal.role === 'seller' ? eq(supervisions.merchantId, principal.merchantId!) : undefined,
        query.stage ? eq(supervisions.stage, query.stage) : undefined, query.appeal ? eq(supervisions.appealState, query.appeal) : undefined,
      ];
      const { rows, nextCursor } = await supervisionPages.read(query, ({ after, orderBy, limit }) =>
        db.select().from(supervisions).where(and(...where, after)).orderBy(...orderBy).limit(limit));
      return { body: { items: rows.map(toView), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/supervisions/:id', tag: 'Supervision', roles: ['buyer', 'seller', 'operator'],
    summary: 'The supervision of one order line.', params: lineParam,
    responses: { 200: { description: 'The supervision', schema: supervisionView }, 404: actionResponses[404] },
    handler: async ({ principal, params }) => ({ body: await view(await visible(principal, params.id)) }),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/supervisions/:id/log', tag: 'Supervision', roles: ['buyer', 'seller', 'operator'],
    summary: 'The operation log: every action on the line, in order, with actor, time, stage, comment and attachments. It is never changed.',
    params: lineParam, query: z.strictObject({ ...logPages.query }),
    responses: { 200: { description: 'Entries in order', schema: pageOf(logEntry) }, 404: actionResponses[404] },
    handler: async ({ principal, params, query }) => {
      await visible(principal, params.id);
      const { rows, nextCursor } = await logPages.read(query, ({ after, orderBy, limit }) =>
        db.select().from(supervisionLog).where(and(eq(supervisionLog.orderLineId, params.id), after)).orderBy(...orderBy).limit(limit));
      return { body: { nextCursor, items: rows.map((e) => ({ seq: e.seq, at: e.at.toISOString(), actorRole: e.actorRole, actorId: e.actorId, action: e.action, stage: e.stage, stageAfter: e.stageAfter, comment: e.comment, attachments: e.attachments, data: e.data })) } };
    },
  });

  for (const a of ACTIONS) {
    defineRoute(router, registry, {
      method: 'post', path: `/v1/supervisions/:id/${a.path}`, tag: 'Supervision', roles: a.roles, summary: a.summary,
      params: lineParam, headers: idempotencyHeaders,
      body: z.strictObject({ comment: text(2000).optional(), attachments: fileIds, ...a.extra }),
      responses: actionResponses,
      handler: async ({ req, res, principal, params, body }) => {
        const v = await visible(principal, params.id);
        const b = body as { comment?: string; attachments: string[]; actualStartAt?: number; signedOffAt?: number };
        const request: ActRequest = {
          actor: { role: principal.role, id: principal.id }, action: a.action, attachments: await attachments(principal, v, b.attachments),
          ...(b.comment ? { comment: b.comment } : {}), ...(b.actualStartAt !== undefined ? { actualStartAt: b.actualStartAt } : {}),
          ...(b.signedOffAt !== undefined ? { signedOffAt: b.signedOffAt } : {}),
        };
        return update(principal, v, req, res, actUpdate, [request]);
      },
    });
  }

  defineRoute(router, registry, {
    method: 'post', path: '/v1/supervisions/:id/appeal', tag: 'Supervision', roles: ['buyer', 'seller'],
    summary: 'Appeal to the marketplace\'s operators: possible when the other party has been idle more than 5 days in its stage or rejected more than 3 times; a buyer may appeal at any stage. The flow freezes until an operator decides.',
    params: lineParam, headers: idempotencyHeaders, body: z.strictObject({ reason: text(2000), attachments: fileIds }),
    responses: { ...actionResponses, 409: { description: 'No ground for an appeal yet (the reason says why), or one is open already', schema: problemSchema } },
    handler: async ({ req, res, principal, params, body }) => {
      const v = await visible(principal, params.id);
      const evidence = await attachments(principal, v, body.attachments);
      const actor = { role: principal.role as 'buyer' | 'seller', id: principal.id };
      return update(principal, v, req, res, appealUpdate, [{ actor, reason: body.reason, attachments: evidence }]);
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/supervisions/:id/appeal/decision', tag: 'Supervision', roles: ['operator'],
    summary: 'Decide the open appeal: complete (accepted on the buyer\'s behalf, settlement follows), send back to a named stage, or refund the buyer.',
    params: lineParam, headers: idempotencyHeaders,
    // send_back names the stage it sends the line back to; the other two take none (one schema each, so the document states it).
    body: z.discriminatedUnion('decision', [
      z.strictObject({ decision: z.literal('send_back'), stage: z.enum(OPEN_STAGES), comment: text(2000).optional() }),
      z.strictObject({ decision: z.enum(['complete', 'refund']), comment: text(2000).optional() }),
    ]).meta({ id: 'AppealDecisionInput' }),
    responses: actionResponses,
    handler: async ({ req, res, principal, params, body }) => {
      const v = await visible(principal, params.id);
      const decision = body.decision === 'send_back' ? { decision: 'send_back' as const, stage: body.stage } : { decision: body.decision };
      return update(principal, v, req, res, decideUpdate, [{ operatorId: principal.id, decision, ...(body.comment ? { comment: body.comment } : {}) }]);
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/supervisions/:id/files', tag: 'Supervision', roles: ['buyer', 'seller', 'operator'],
    summary: `Upload files (multipart/form-data, each part's field name its proof kind: ${PROOF_KINDS.join(', ')}). Types: ${Object.keys(SUPERVISION_FILE_TYPES).join(', ')}, checked against the content. Streamed into the artifact store with their SHA-256. With an Idempotency-Key a retried upload gives the same files.`,
    params: lineParam, headers: idempotencyHeaders,
    multipart: z.object(Object.fromEntries(PROOF_KINDS.map((k) => [k, z.string().meta({ format: 'binary' }).optional()]))),
    responses: {
      201: { description: 'The files, in the order sent', schema: z.object({ items: z.array(fileView) }) },
      404: actionResponses[404], 409: { description: 'The supervision is closed', schema: problemSchema },
      413: { description: `A file is larger than SUPERVISION_FILE_MAX_BYTES (${config.SUPERVISION_FILE_MAX_BYTES} bytes); nothing was kept`, schema: problemSchema },
      415: { description: 'Not multipart, or a file type not allowed or not matching its content; nothing was kept', schema: problemSchema },
    },
    handler: async ({ req, principal, params }) => {
      const v = await visible(principal, params.id);
      const current = await view(v);
      if (!isOpen(current.stage)) throw conflict(`supervised order line ${v.line.id}: the supervision is ${current.stage}`);
      const key = req.get('idempotency-key');
      const idAt = (i: number) => (key ? idFromKey('SF', `${v.line.id}:${principal.id}`, `${key}:${i}`) : undefined);
      const fresh: string[] = [];
      const idOf = (i: number) => (fresh[i] ??= idAt(i) ?? newId('SF'));
      const got = await receiveFiles(req, store, {
        maxBytes: config.SUPERVISION_FILE_MAX_BYTES,
        keyFor: (i) => `supervision/${v.line.id}/${idOf(i)}`,
        stored: async (i) => { const id = idAt(i); return !!id && (await db.select({ id: supervisionFiles.id }).from(supervisionFiles).where(eq(supervisionFiles.id, id))).length > 0; },
      });
      const added = got.filter((f): f is UploadedFile => !('replayed' in f));
      if (added.length) {
        await db.insert(supervisionFiles).values(added.map((f) => ({
          id: idOf(f.index), orderLineId: v.line.id, uploadedBy: principal.id, uploaderRole: principal.role, kind: f.kind, filename: f.filename,
          contentType: f.contentType, size: f.size, sha256: f.sha256, storageKey: f.key,
        }))).onConflictDoNothing();
      }
      const rows = await db.select().from(supervisionFiles).where(inArray(supervisionFiles.id, got.map((f) => idOf(f.index))));
      return { status: 201, body: { items: got.map((f) => toFile(rows.find((r) => r.id === idOf(f.index))!)) } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/supervisions/:id/files', tag: 'Supervision', roles: ['buyer', 'seller', 'operator'],
    summary: 'The files of a supervised line, oldest first.', params: lineParam, query: z.strictObject({ ...filePages.query }),
    responses: { 200: { description: 'Files', schema: pageOf(fileView) }, 404: actionResponses[404] },
    handler: async ({ principal, params, query }) => {
      await visible(principal, params.id);
      const { rows, nextCursor } = await filePages.read(query, ({ after, orderBy, limit }) =>
        db.select().from(supervisionFiles).where(and(eq(supervisionFiles.orderLineId, params.id), after)).orderBy(...orderBy).limit(limit));
      return { body: { items: rows.map(toFile), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/supervisions/:id/files/:fileId', tag: 'Supervision', roles: ['buyer', 'seller', 'operator'],
    summary: 'Download a file (the two parties and operators only). Every download is logged. `Repr-Digest` carries its SHA-256.',
    params: fileParam,
    responses: { 200: { description: 'The file', contentType: 'application/octet-stream', schema: z.string().meta({ format: 'binary' }) }, 404: { description: 'No such file of yours', schema: problemSchema } },
    handler: async ({ principal, params, res }) => {
      await visible(principal, params.id);
      const [f] = await db.select().from(supervisionFiles).where(and(eq(supervisionFiles.id, params.fileId), eq(supervisionFiles.orderLineId, params.id)));
      if (!f) throw notFound(`file ${params.fileId}`);
      const body = await store.get(f.storageKey);
      await db.insert(supervisionDownloads).values({ fileId: f.id, principalId: principal.id, role: principal.role });
      res.status(200).set({
        'content-type': f.contentType, 'content-length': String(f.size), 'x-content-type-options': 'nosniff',
        'content-disposition': `attachment; filename="${f.filename.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(f.filename)}`,
        'repr-digest': `sha-256=:${Buffer.from(f.sha256, 'hex').toString('base64')}:`,
      });
      await pipeline(body, res);
      return { body: undefined };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/supervisions/:id/downloads', tag: 'Supervision', roles: ['buyer', 'seller', 'operator'],
    summary: 'Who downloaded which file of the line, and when.', params: lineParam, query: z.strictObject({ ...downloadPages.query }),
    responses: { 200: { description: 'Downloads, oldest first', schema: pageOf(z.object({ fileId: z.string(), principalId: z.string(), role: z.string(), at: z.string() })) }, 404: actionResponses[404] },
    handler: async ({ principal, params, query }) => {
      await visible(principal, params.id);
      const { rows, nextCursor } = await downloadPages.read(query, ({ after, orderBy, limit }) =>
        db.select({ d: supervisionDownloads }).from(supervisionDownloads).innerJoin(supervisionFiles, eq(supervisionFiles.id, supervisionDownloads.fileId))
          .where(and(eq(supervisionFiles.orderLineId, params.id), after)).orderBy(...orderBy).limit(limit));
      return { body: { nextCursor, items: rows.map(({ d }) => ({ fileId: d.fileId, principalId: d.principalId, role: d.role, at: d.at.toISOString() })) } };
    },
  });
}
