import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskStore } from '../../artifacts/disk';
import { imageAssetVersions, merchants, notifications } from '../../db/schema';
import { newId } from '../../domain/ids';
import { archive, cleanImage, dpkgStatus, imageWith } from '../support/images';
import { FEED } from '../support/scan';
import { startSystem, type System } from '../support/system';

const LIMIT = 3 * 1024 * 1024;
let sys: System;
let dir: string;
let seller: { id: string; key: string };
let other: { id: string; key: string };
let operator: { id: string; key: string };
let merchantId: string;
let assetId: string;

async function seedMerchant() {
  const id = newId('M', 12);
  const owner = await sys.party('buyer');
  await sys.db.insert(merchants).values({ id, ownerPrincipalId: owner.id, status: 'active', onboardingApplicationId: 'MA-test', profile: { companyName: 'Image Co', customerServiceEmail: `cs-${id}@images.example.com`, contactPhone: '+8613800000011' } });
  return id;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'images-it-'));
  sys = await startSystem({ config: { ARTIFACT_DIR: dir, IMAGE_MAX_BYTES: String(LIMIT), UPLOAD_IDLE_TIMEOUT_MS: '1500', SCAN_CHECKPOINT_MS: '500' } });
  merchantId = await seedMerchant();
  seller = await sys.party('seller', { merchantId });
  other = await sys.party('seller', { merchantId: await seedMerchant() });
  operator = await sys.party('operator');
});
afterAll(async () => {
  await sys?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function upload(version: string, body: Buffer | Uint8Array, o: { key?: string; type?: string; asset?: string } = {}) {
  const res = await fetch(`${sys.baseUrl}/v1/assets/${o.asset ?? assetId}/versions/${version}`, {
    method: 'PUT', body: body as unknown as BodyInit, headers: { authorization: `Bearer ${o.key ?? seller.key}`, 'content-type': o.type ?? 'application/x-tar' },
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: await res.json().catch(() => undefined) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
async function settled(version: string) {
  for (let i = 0; i < 600; i++) {
    const r = await sys.call('GET', `/v1/assets/${assetId}/versions/${version}`, { key: seller.key });
    if (r.json?.status && r.json.status !== 'scanning') return r.json;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`version ${version} still scanning`);
}
/** Nothing stored for the asset but the versions that were accepted, no partial write, and no row for `version`. */
async function nothingLeftFor(version: string) {
  const accepted = (await sys.db.select().from(imageAssetVersions).where(eq(imageAssetVersions.assetId, assetId))).map((v) => v.artifactKey);
  const stored = await createDiskStore(dir).list('images/');
  expect(stored.filter((e) => e.partial)).toEqual([]);
  expect(stored.map((e) => e.key).sort()).toEqual(accepted.sort());
  expect((await sys.db.select().from(imageAssetVersions).where(eq(imageAssetVersions.assetId, assetId))).map((v) => v.version)).not.toContain(version);
}

describe('image assets over HTTP', () => {
  it('creates an asset, and refuses bad input and other sellers', async () => {
    const body = { name: 'LAMP stack', os: 'Debian 12', regions: ['cn-north-4', 'ap-southeast-1'], securityGroup: { name: 'web', inbound: [{ protocol: 'tcp', ports: '80', source: '0.0.0.0/0' }] } };
    const r = await sys.call('POST', '/v1/assets', { key: seller.key, body });
    expect(r.status).toBe(201);
    assetId = r.json.id;
    expect(r.json).toMatchObject({ merchantId, name: 'LAMP stack', regions: ['cn-north-4', 'ap-southeast-1'], versions: [] });
    const bad = await sys.call('POST', '/v1/assets', { key: seller.key, body: { ...body, regions: ['moon'] } });
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    expect((await sys.call('GET', `/v1/assets/${assetId}`, { key: other.key })).status).toBe(404);
    expect((await upload('1.0.0', await archive(cleanImage()), { key: other.key })).status).toBe(404);
  });

  it('uploads a clean tar.gz, scans it to approved, and serves the report as JSON and HTML', async () => {
    const gz = await archive(cleanImage(), 'gzip');
    const r = await upload('1.0.0', gz, { type: 'application/gzip' });
    expect(r.status, JSON.stringify(r.json)).toBe(202);
    expect(r.json).toMatchObject({ version: '1.0.0', status: 'scanning', compression: 'gzip', sizeBytes: gz.length, workflowId: `image-asset:${assetId}:1.0.0` });
    const v = await settled('1.0.0');
    expect(v).toMatchObject({ status: 'approved', summary: { outcome: 'approved', findings: 0, blocking: 0, entries: cleanImage().length, clamav: false } });
    const report = await sys.call('GET', `/v1/assets/${assetId}/versions/1.0.0/report`, { key: seller.key });
    expect(report.json.findings).toEqual([]);
    const html = await sys.call('GET', `/v1/assets/${assetId}/versions/1.0.0/report.html`, { key: seller.key });
    expect(html.type).toContain('text/html');
    expect(html.text).toContain('<strong class="approved">approved</strong>');
    expect(html.text).toContain('ClamAV: not configured');
    // The seller is told by e-mail, SMS and in-site message.
    const inapp = async () => (await sys.db.select().from(notifications).where(eq(notifications.recipientPrincipalId, seller.id))).some((n) => n.subject.includes('1.0.0 passed'));
    // In-site messages are written after e-mail and SMS went out.
    for (let i = 0; i < 200 && !(await inapp()); i++) await new Promise((res) => setTimeout(res, 100));
    expect(sys.inbox.mails.some((m) => m.subject.includes(`${assetId} version 1.0.0 passed`))).toBe(true);
    expect(sys.inbox.sms.some((s) => s.text.includes(`${assetId} version 1.0.0 passed`))).toBe(true);
    expect(await inapp()).toBe(true);
    expect((await upload('1.0.0', gz)).status).toBe(409);
  });

  it('releases the approved image as a product: review, rejection, resubmission into the same case, approval, listing', async () => {
    const release = { assetId, version: '1.0.0', name: 'LAMP stack', description: 'Apache, MySQL and PHP on Debian 12', pricing: { mode: 'usage', hourlyCents: 12 }, regions: ['cn-north-4'] };
    expect((await sys.call('POST', '/v1/product-applications', { key: other.key, body: release })).status).toBe(404);
    expect((await sys.call('POST', '/v1/product-applications', { key: seller.key, body: { ...release, pricing: { mode: 'period' } } })).status).toBe(400);
    const filed = await sys.call('POST', '/v1/product-applications', { key: seller.key, body: release });
    expect(filed.status, JSON.stringify(filed.json)).toBe(201);
    const id = filed.json.id;
    expect(filed.json).toMatchObject({ status: 'pending', round: 1, workflowId: `product-review:${id}` });
    let queue: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (let i = 0; i < 100; i++) {
      queue = await sys.call('GET', '/v1/product-reviews?status=pending', { key: operator.key });
      if (queue.json.items.find((a: { id: string; deadline: string | null }) => a.id === id)?.deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(queue.json.items.find((a: { id: string }) => a.id === id).deadline).not.toBeNull();
    expect((await sys.call('GET', '/v1/product-reviews', { key: seller.key })).status).toBe(403);

    const rejected = await sys.call('POST', `/v1/product-reviews/${id}/reject`, { key: operator.key, body: { reasons: ['say which ports the image opens'] } });
    expect(rejected.json).toMatchObject({ status: 'rejected', reasons: ['say which ports the image opens'] });
    expect((await sys.call('POST', `/v1/product-reviews/${id}/approve`, { key: operator.key, body: {} })).status).toBe(409);
    const resubmitted = await sys.call('POST', `/v1/product-applications/${id}/resubmit`, { key: seller.key, body: { ...release, description: 'Apache, MySQL and PHP on Debian 12; opens 80 and 443' } });
    expect(resubmitted.json).toMatchObject({ id, status: 'pending', round: 2 });

    const approved = await sys.call('POST', `/v1/product-reviews/${id}/approve`, { key: operator.key, body: { note: 'listed' } });
    expect(approved.json).toMatchObject({ id, status: 'approved', productId: expect.stringMatching(/^PR/) });
    expect(approved.json.history.map((e: { round: number; type: string }) => `${e.round}:${e.type}`)).toEqual(['1:round_opened', '1:rejected', '2:resubmitted', '2:round_opened', '2:approved']);

    // Listed: buyers find it in the catalog, priced by use.
    const buyer = await sys.party('buyer');
    const listed = await sys.call('GET', `/v1/products/${approved.json.productId}`, { key: buyer.key });
    expect(listed.json).toMatchObject({ name: 'LAMP stack', deliveryType: 'image', status: 'on_sale', skus: [expect.objectContaining({ chargingMode: 'on_demand', priceCents: 12 })] });
    const catalog = await sys.call('GET', '/v1/products', { key: buyer.key });
    expect(JSON.stringify(catalog.json)).toContain(approved.json.productId);
  });

  it('a release approval held by our own fault answers 202 with the application to follow; an operator retry lists the product once fixed', async () => {
    const release = { assetId, version: '1.0.0', name: 'Held', description: 'Held by a broken catalog', pricing: { mode: 'free' }, regions: ['cn-north-4'] };
    const filed = await sys.call('POST', '/v1/product-applications', { key: seller.key, body: release });
    const id = filed.json.id as string;
    for (let i = 0; i < 100 && !(await sys.call('GET', `/v1/product-applications/${id}`, { key: seller.key })).json.deadline; i++) await new Promise((r) => setTimeout(r, 100));
    // PostgreSQL itself refuses the listing (a check violation): our fault, not the operator's.
    await sys.db.execute(sql.raw(`create or replace function broken_products() returns trigger language plpgsql as $$
      begin raise exception 'injected fault' using errcode = '23514'; end $$;
      create trigger broken_products before insert on products for each row execute function broken_products();`));
    try {
      const held = await sys.call('POST', `/v1/product-reviews/${id}/approve`, { key: operator.key, body: {} });
      expect(held.status).toBe(202);
      expect(held.headers.get('location')).toBe(`/v1/product-applications/${id}`);
      expect(held.json).toMatchObject({ id, status: 'pending' });
      let item: any; // eslint-disable-line @typescript-eslint/no-explicit-any
      for (let i = 0; i < 150 && !item; i++) {
        item = (await sys.call('GET', '/v1/stuck-processes', { key: operator.key })).json.items.find((x: { subjectId: string }) => x.subjectId === id);
        if (!item) await new Promise((r) => setTimeout(r, 100));
      }
      expect(item).toMatchObject({ workflowId: `product-review:${id}`, workflowType: 'productReview', step: 'approve', failureType: 'ConstraintViolated' });
      // A second decision while the first is held: the case is not open to another.
      expect((await sys.call('POST', `/v1/product-reviews/${id}/reject`, { key: operator.key, body: { reasons: ['no'] } })).status).toBe(409);
    } finally {
      await sys.db.execute(sql.raw('drop trigger if exists broken_products on products'));
    }
    const retried = await sys.call('POST', `/v1/stuck-processes/product-review:${id}/retry`, { key: operator.key, body: {} });
    expect(retried.json).toEqual({ resolved: true, stuck: null });
    const done = await sys.call('GET', `/v1/product-applications/${id}`, { key: seller.key });
    expect(done.json).toMatchObject({ status: 'approved', decidedBy: operator.id, productId: expect.stringMatching(/^PR/) });
    expect((await sys.call('GET', `/v1/products/${done.json.productId}`, { key: seller.key })).json).toMatchObject({ name: 'Held', status: 'on_sale' });
  });

  it('rejects an image with findings; the report names rule, path and masked evidence', async () => {
    const tar = await archive(imageWith(
      { path: 'etc/shadow', content: 'root:$6$abcdefgh$Zk1yQ0dLm3Vn5Xp7Rt9Uw2Ys4Aq6Bc8De0Fg2Hi4Jk6:19000::::::\n' },
      { path: 'root/.ssh/authorized_keys', content: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 builder@ci\n' },
    ));
    expect((await upload('1.0.1', tar)).status).toBe(202);
    const v = await settled('1.0.1');
    expect(v).toMatchObject({ status: 'rejected', summary: { outcome: 'rejected', blocking: 2, byRule: { 'preset-password': 1, 'authorized-keys': 1 } } });
    const report = await sys.call('GET', `/v1/assets/${assetId}/versions/1.0.1/report`, { key: seller.key });
    expect(report.json.findings).toEqual(expect.arrayContaining([
      expect.objectContaining({ rule: 'preset-password', path: '/etc/shadow', severity: 'critical', blocking: true }),
      expect.objectContaining({ rule: 'authorized-keys', path: '/root/.ssh/authorized_keys' }),
    ]));
    expect(report.text).not.toContain('Zk1yQ0dLm3Vn5Xp7Rt9Uw2Ys4Aq6Bc8De0Fg2Hi4Jk6');
    const release = { assetId, version: '1.0.1', name: 'Bad', description: 'x', pricing: { mode: 'free' }, regions: ['cn-north-4'] };
    expect((await sys.call('POST', '/v1/product-applications', { key: seller.key, body: release })).status).toBe(409);
    const html = await sys.call('GET', `/v1/assets/${assetId}/versions/1.0.1/report.html`, { key: seller.key });
    expect(html.text).toContain('<code>/etc/shadow</code>');
  });

  it('refuses oversized, truncated, malformed and mistyped uploads with clear errors, leaving nothing behind', async () => {
    const big = await archive(imageWith({ path: 'srv/blob.bin', content: Buffer.alloc(LIMIT + 1024 * 1024, 7) }));
    const tooLarge = await upload('9.0.0', big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.type).toContain('application/problem+json');
    expect(tooLarge.json.detail).toMatch(/limit/);
    await nothingLeftFor('9.0.0');

    // Streamed without a Content-Length: refused at the first byte past the limit.
    const chunked = await fetch(`${sys.baseUrl}/v1/assets/${assetId}/versions/9.0.1`, {
      method: 'PUT', headers: { authorization: `Bearer ${seller.key}`, 'content-type': 'application/x-tar' }, duplex: 'half',
      body: new ReadableStream({ pull(c) { c.enqueue(big.subarray(0, 256 * 1024)); } }),
    } as RequestInit).catch((e: unknown) => e as Error);
    if (!(chunked instanceof Error)) expect(chunked.status).toBe(413);
    await nothingLeftFor('9.0.1');

    const tar = await archive(cleanImage());
    const truncated = await upload('9.0.2', tar.subarray(0, tar.length - 1536 - 700));
    expect(truncated.status).toBe(422);
    expect(truncated.json.detail).toMatch(/truncated/);
    await nothingLeftFor('9.0.2');

    const gz = await archive(cleanImage(), 'gzip');
    const gzTruncated = await upload('9.0.3', gz.subarray(0, gz.length - 30), { type: 'application/gzip' });
    expect(gzTruncated.status).toBe(422);
    expect(gzTruncated.json.detail).toMatch(/truncated/);
    await nothingLeftFor('9.0.3');

    const zip = Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(4000, 1)]);
    const malformed = await upload('9.0.4', zip, { type: 'application/octet-stream' });
    expect(malformed.status).toBe(422);
    expect(malformed.json.detail).toMatch(/not a tar archive/);
    await nothingLeftFor('9.0.4');

    expect((await upload('9.0.5', tar, { type: 'text/plain' })).status).toBe(415);
    // `..` collapses the path to the asset itself, which takes no PUT (the edge's 405 with Allow).
    expect((await upload('..', tar)).status).toBe(405);
    expect((await upload('bad version!', tar)).status).toBe(400);
  });

  it('drops an abandoned upload (a stalled client gets 408, a vanished one leaves nothing)', async () => {
    const tar = await archive(cleanImage());
    const port = Number(new URL(sys.baseUrl).port);
    const raw = (version: string) => {
      const s = connect(port, '127.0.0.1');
      s.write(`PUT /v1/assets/${assetId}/versions/${version} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${seller.key}\r\nContent-Type: application/x-tar\r\nContent-Length: ${tar.length}\r\n\r\n`);
      s.write(tar.subarray(0, 2048));
      return s;
    };
    const stalled = raw('9.1.0');
    const answer = await new Promise<string>((resolve) => { let got = ''; stalled.on('data', (b) => { got += b.toString(); if (got.includes('\r\n\r\n')) resolve(got); }); });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    stalled.destroy();
    await nothingLeftFor('9.1.0');

    const vanished = raw('9.1.1');
    await new Promise((r) => setTimeout(r, 300));
    vanished.destroy();
    for (let i = 0; i < 50; i++) {
      if ((await createDiskStore(dir).list('images/')).every((e) => !e.partial)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await nothingLeftFor('9.1.1');
  });

  it('rescans approved images after a feed load and flags a newly vulnerable one to its seller', async () => {
    const old = await archive(imageWith({ path: 'var/lib/dpkg/status', content: dpkgStatus([['openssl', '3.0.11-1~deb12u2'], ['bash', '5.2.15-2+b8']]) }));
    expect((await upload('2.0.0', old)).status).toBe(202);
    expect((await settled('2.0.0')).status).toBe('approved');

    const ndjson = FEED.map((r) => JSON.stringify(r)).join('\n');
    const notOsv = await sys.call('POST', '/v1/scan/vulnerability-feed', { key: operator.key, raw: '{"id":"X"}\nnot json\n', headers: { 'content-type': 'application/x-ndjson' } });
    expect(notOsv.status).toBe(422);
    expect(notOsv.json.detail).toMatch(/line 2/);
    expect((await sys.call('POST', '/v1/scan/vulnerability-feed', { key: seller.key, raw: ndjson, headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(403);
    const loaded = await sys.call('POST', '/v1/scan/vulnerability-feed', { key: operator.key, raw: ndjson, headers: { 'content-type': 'application/x-ndjson' } });
    expect(loaded.json).toEqual({ loaded: FEED.length, total: FEED.length });

    const rescans = await sys.call('POST', '/v1/scan/rescans', { key: operator.key, body: {} });
    expect(rescans.status).toBe(202);
    expect(rescans.json.started).toBe(2); // 1.0.0 and 2.0.0
    let v: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (let i = 0; i < 300; i++) {
      v = (await sys.call('GET', `/v1/assets/${assetId}/versions/2.0.0`, { key: seller.key })).json;
      if (v.status === 'rejected') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(v, JSON.stringify(v)).toMatchObject({ status: 'rejected', scanNo: 2, summary: { byRule: { 'vulnerable-package': 1 } } });
    expect(v.flaggedAt).not.toBeNull();
    for (let i = 0; i < 100 && !sys.inbox.mails.some((m) => m.subject.includes('2.0.0 is now vulnerable')); i++) await new Promise((r) => setTimeout(r, 100));
    expect(sys.inbox.mails.some((m) => m.subject.includes('2.0.0 is now vulnerable'))).toBe(true);
    // The clean version stays approved after its rescan.
    for (let i = 0; i < 100 && (await sys.call('GET', `/v1/assets/${assetId}/versions/1.0.0`, { key: seller.key })).json.scannedAt === null; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await settled('1.0.0')).status).toBe('approved');
  });
});
