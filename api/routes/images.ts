import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { RouteContext } from '../app';
import { requireRole } from '../auth';
import { assetPages, createImageService, assetView, digestPages, versionView, type OsvInput } from '../image-service';
import { pageOf } from '../pagination';
import { notFound, Problem } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { idParam } from '../schemas';
import { reportHtml } from '../../scan/report';

const region = z.string().regex(/^[a-z]{2}-[a-z]+-\d{1,2}$/, 'must be a region id such as cn-north-4');
const assetInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  os: z.string().trim().min(1).max(100).describe('e.g. "Debian 12", "CentOS 7.9"'),
  regions: z.array(region).min(1).max(50).describe('image replication regions'),
  securityGroup: z.strictObject({
    name: z.string().trim().min(1).max(100),
    inbound: z.array(z.strictObject({ protocol: z.enum(['tcp', 'udp', 'icmp']), ports: z.string().regex(/^(\d{1,5})(-\d{1,5})?$/).optional(), source: z.string().max(50) })).max(50),
  }).describe('recommended security group'),
}).meta({ id: 'ImageAssetInput' });
const versionParams = z.strictObject({ id: idParam.shape.id, version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'a version such as 1.0.2') });
const summary = z.object({ outcome: z.enum(['approved', 'rejected']), findings: z.number(), blocking: z.number(), byRule: z.record(z.string(), z.number()), bySeverity: z.record(z.string(), z.number()), entries: z.number(), clamav: z.boolean().describe('whether ClamAV scanned the files') });
const versionSchema = z.object({
  assetId: z.string(), version: z.string(), status: z.enum(['scanning', 'approved', 'rejected']), sizeBytes: z.number(), sha256: z.string(), compression: z.enum(['none', 'gzip']),
  scanNo: z.number(), summary: summary.nullable(), scannedAt: z.string().nullable(), flaggedAt: z.string().nullable().describe('set when a rescan found a newly vulnerable image'), workflowId: z.string(), createdAt: z.string(),
}).meta({ id: 'ImageAssetVersion' });
const assetSchema = z.object({ id: z.string(), merchantId: z.string(), name: z.string(), os: z.string(), regions: z.array(z.string()), securityGroup: z.record(z.string(), z.unknown()), createdAt: z.string(), versions: z.array(versionSchema) }).meta({ id: 'ImageAsset' });
const finding = z.object({ rule: z.string(), path: z.string(), severity: z.enum(['critical', 'high', 'medium', 'low']), evidence: z.string().describe('masked'), blocking: z.boolean() }).meta({ id: 'ScanFinding' });
const digestInput = z.strictObject({ digests: z.array(z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'lower-case hex SHA-256'), name: z.string().trim().min(1).max(200) })).min(1).max(100).describe('up to 100 a request, so that the body stays under the 256 KiB the API reads') });
const osvRecord = z.looseObject({
  id: z.string().min(1).max(200), modified: z.string().max(40).optional(),
  affected: z.array(z.looseObject({ package: z.looseObject({ ecosystem: z.string().max(100), name: z.string().max(300) }).optional() })).max(10_000).optional(),
});
const MAX_FEED_RECORDS = 2_000_000;
/** What an upload may be sent as; the archive's own bytes tell tar from gzip. */
const ARCHIVE_TYPES = ['application/x-tar', 'application/gzip', 'application/x-gzip', 'application/octet-stream', 'application/x-compressed-tar'];

export function imageRoutes(ctx: RouteContext) {
  const { router, registry } = ctx;
  const images = createImageService(ctx);

  defineRoute(router, registry, {
    method: 'post', path: '/v1/assets', tag: 'Images', roles: ['seller'],
    summary: 'Create an image asset: name, OS, replication regions and recommended security group. Versions are uploaded next.',
    body: assetInput, responses: { 201: { description: 'The asset', schema: assetSchema } },
    handler: async ({ principal, body }) => ({ status: 201, body: assetView(await images.createAsset(principal, body)) }),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/assets', tag: 'Images', roles: ['seller', 'operator'],
    summary: 'Image assets: a seller sees its own, operators all.',
    query: z.strictObject({ ...assetPages.query }),
    responses: { 200: { description: 'Assets, newest first', schema: pageOf(assetSchema) } },
    handler: async ({ principal, query }) => {
      const { rows, nextCursor } = await images.listAssets(principal, query);
      return { body: { items: rows.map((a) => assetView(a)), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/assets/:id', tag: 'Images', roles: ['seller', 'operator'], params: idParam,
    summary: 'One asset with its versions and their scan outcomes.',
    responses: { 200: { description: 'The asset', schema: assetSchema }, 404: { description: 'No such asset', schema: problemSchema } },
    handler: async ({ principal, params }) => {
      const a = await images.visibleAsset(principal, params.id);
      return { body: assetView(a, await images.versions(a.id)) };
    },
  });

  defineRoute(router, registry, {
    method: 'put', path: '/v1/assets/:id/versions/:version', tag: 'Images', roles: ['seller'], params: versionParams,
    summary: 'Upload a version: the body is the archive of the root file system (tar, or tar.gz), streamed as application/x-tar, '
      + 'application/gzip or application/octet-stream, up to IMAGE_MAX_BYTES (20 GiB). It is checked while it streams and scanned after: '
      + '202 with the version in `scanning`. Too large: 413; not a tar archive or truncated: 422; stalled or cut off: 408. A refused upload leaves nothing.',
    stream: { mediaTypes: ARCHIVE_TYPES, description: 'The archive of the root file system: tar, or tar compressed with gzip (told apart by its bytes)' },
    responses: {
      202: { description: 'Stored; the scan runs', schema: versionSchema }, 404: { description: 'No such asset', schema: problemSchema },
      408: { description: 'Upload abandoned', schema: problemSchema }, 409: { description: 'The version exists', schema: problemSchema },
      422: { description: 'Not a tar archive, or truncated', schema: problemSchema },
    },
    handler: async ({ principal, params, req, res }) => {
      const v = await images.upload(principal, params.id, params.version, req);
      res.setHeader('Location', `/v1/assets/${params.id}/versions/${params.version}`);
      return { status: 202, body: versionView(v) };
    },
  });

  const versionOf = async (principal: Parameters<typeof images.visibleAsset>[0], id: string, version: string) => {
    const a = await images.visibleAsset(principal, id);
    const v = await images.version(a.id, version);
    if (!v) throw notFound(`version ${version} of asset ${id}`);
    return { a, v };
  };

  defineRoute(router, registry, {
    method: 'get', path: '/v1/assets/:id/versions/:version', tag: 'Images', roles: ['seller', 'operator'], params: versionParams,
    summary: 'One version: scanning, approved or rejected, with the summary of its scan.',
    responses: { 200: { description: 'The version', schema: versionSchema }, 404: { description: 'No such version', schema: problemSchema } },
    handler: async ({ principal, params }) => ({ body: versionView((await versionOf(principal, params.id, params.version)).v) }),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/assets/:id/versions/:version/report', tag: 'Images', roles: ['seller', 'operator'], params: versionParams,
    summary: 'The scan report: every finding (rule, path, severity, masked evidence) and counts by rule and severity. `report.html` is the same as a page.',
    responses: { 200: { description: 'The report', schema: z.object({ version: versionSchema, findings: z.array(finding) }) }, 404: { description: 'No such version', schema: problemSchema } },
    handler: async ({ principal, params }) => {
      const { v } = await versionOf(principal, params.id, params.version);
      return { body: { version: versionView(v), findings: images.findingsOf(v) } };
    },
  });
  // Not a JSON route, so it is declared to the OpenAPI document by hand.
  registry.registerPath({
    method: 'get', path: '/v1/assets/{id}/versions/{version}/report.html', tags: ['Images'], security: [{ bearerAuth: [] }],
    summary: 'The scan report as a readable HTML page.', description: 'Roles: seller, operator.', request: { params: versionParams },
    responses: {
      200: { description: 'The report page', content: { 'text/html': { schema: z.string() } } },
      ...Object.fromEntries(([[400, 'Invalid input'], [401, 'Missing or bad API key'], [403, 'Role not allowed'], [404, 'No such version'], [503, 'A service the API needs is not available now']] as const)
        .map(([status, description]) => [status, { description, content: { 'application/problem+json': { schema: problemSchema } } }])),
    },
  });
  router.get('/v1/assets/:id/versions/:version/report.html', async (req, res) => {
    const principal = requireRole(req, 'seller', 'operator');
    const p = versionParams.safeParse(req.params);
    if (!p.success) throw new Problem(400, 'Bad Request', 'invalid path');
    const { a, v } = await versionOf(principal, p.data.id, p.data.version);
    const view = versionView(v);
    res.type('text/html').send(reportHtml({ assetId: a.id, assetName: a.name, version: v.version, status: v.status, sha256: v.sha256, scannedAt: view.scannedAt, summary: view.summary, findings: images.findingsOf(v) }));
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/scan/malware-digests', tag: 'Images', roles: ['operator'], body: digestInput,
    summary: 'Add SHA-256 digests of known-bad files to the malware rule\'s list (a digest already listed gets the new name).',
    responses: { 200: { description: 'The whole list', schema: z.object({ items: z.array(z.object({ sha256: z.string(), name: z.string() })) }) } },
    handler: async ({ principal, body }) => ({ body: { items: (await images.addDigests(principal, body.digests)).map(({ sha256, name }) => ({ sha256, name })) } }),
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/scan/malware-digests', tag: 'Images', roles: ['operator'], summary: 'The known-bad digests, oldest first.',
    query: z.strictObject({ ...digestPages.query }),
    responses: { 200: { description: 'The list', schema: pageOf(z.object({ sha256: z.string(), name: z.string() })) } },
    handler: async ({ query }) => {
      const { rows, nextCursor } = await images.listDigests(query);
      return { body: { items: rows.map(({ sha256, name }) => ({ sha256, name })), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/scan/vulnerability-feed', tag: 'Images', roles: ['operator'],
    summary: 'Load OSV records into the offline vulnerability feed, as application/x-ndjson (one OSV JSON record per line, streamed, any size). '
      + 'A record replaces an earlier one with the same id. Then rescan approved images with POST /v1/scan/rescans.',
    stream: { mediaTypes: ['application/x-ndjson', 'application/ndjson', 'text/plain'], description: 'OSV records, one JSON object per line (NDJSON; text/plain is taken as the same)' },
    responses: {
      200: { description: 'Counts', schema: z.object({ loaded: z.number(), total: z.number() }) },
      422: { description: 'A line is not an OSV record in JSON: nothing is loaded', schema: problemSchema },
    },
    handler: async ({ req }) => {
      const records: OsvInput[] = [];
      let line = 0;
      for await (const text of createInterface({ input: req, crlfDelay: Infinity })) {
        line++;
        if (!text.trim()) continue;
        let json: unknown;
        try { json = JSON.parse(text); } catch { throw new Problem(422, 'Unprocessable Content', `line ${line} is not JSON`); }
        const r = osvRecord.safeParse(json);
        if (!r.success) throw new Problem(422, 'Unprocessable Content', `line ${line} is not an OSV record: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
        records.push(r.data as OsvInput);
        if (records.length > MAX_FEED_RECORDS) throw new Problem(413, 'Payload Too Large', `more than ${MAX_FEED_RECORDS} records`);
      }
      // Validated whole before anything is written: a bad line changes nothing.
      return { body: await images.loadFeed(records) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/scan/rescans', tag: 'Images', roles: ['operator'],
    summary: 'Rescan every approved image version (after a feed change). A version that now fails is rejected, flagged and its seller told. 202 with how many started.',
    responses: { 202: { description: 'Rescans started', schema: z.object({ started: z.number() }) } },
    handler: async () => ({ status: 202, body: { started: await images.rescanApproved() } }),
  });

  return images;
}
