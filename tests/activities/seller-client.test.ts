import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { interfaceMessages, products } from '../../db/schema';
import { bodySignHeader } from '../../domain/saas-signing';
import { createSellerClient, isOurFault, OUR_FAULT, OurFault, queryInstanceReply } from '../../seller-client';
import type { Lookup } from '../../seller-client/address-guard';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { seedSaasProduct, LOOPBACK_SELLERS, TEST_MASTER_KEY } from '../support/catalog';
import { freshDatabase } from '../support/db';

const KEY = 'seller-client-access-key';
let database: Awaited<ReturnType<typeof freshDatabase>>;
let seller: ReferenceSeller;
/** A seller that answers whatever the test sets: status, body and headers. */
let raw: Server;
let rawUrl: string;
let answer: { status: number; body: string; headers?: Record<string, string> } = { status: 200, body: '{}' };

beforeAll(async () => {
  database = await freshDatabase();
  seller = await startReferenceSeller({ accessKey: KEY, port: 0 });
  raw = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body)); });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', () => r()));
  rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/saasproduce`;
});
afterAll(async () => { await seller?.close(); raw?.close(); await database?.drop(); });

const client = (env: Record<string, string> = {}) => createSellerClient({ db: database.db, config: loadConfig({ MASTER_KEY: TEST_MASTER_KEY, ...LOOPBACK_SELLERS, SELLER_CALL_TIMEOUT_MS: '1000', ...env }) });
const messages = async (productId: string) => database.db.select().from(interfaceMessages).where(eq(interfaceMessages.productId, productId));
let n = 0;
const call = (c: ReturnType<typeof client>, productId: string, body: Record<string, string> = { instanceId: 'i-1' }) =>
  c.call({ productId, activity: 'queryInstance', body, reply: queryInstanceReply, record: { dedupeKey: `t:${++n}` } });

describe('the seller client: our faults are thrown and typed, never recorded against the seller', () => {
  it('a missing product, a missing master key and a key that does not decrypt are OurFault', async () => {
    const { productId } = await seedSaasProduct(database.db, { productionUrl: seller.url, accessKey: KEY });
    const reasons: string[] = [];
    for (const [c, id] of [[client(), 'PRNOSUCHPRODUCT'], [client({ MASTER_KEY: '' }), productId], [client({ MASTER_KEY: 'b'.repeat(64) }), productId]] as const) {
      const e = await call(c, id).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(OurFault);
      expect(isOurFault(e)).toBe(true);
      expect((e as OurFault).nonRetryable).toBe(true);
      reasons.push((e as OurFault).reason);
    }
    expect(reasons).toEqual(['product-missing', 'master-key-missing', 'decrypt-failed']);
    // Nothing went out and nothing was recorded against the seller.
    expect(seller.received).toHaveLength(0);
    expect(await messages(productId)).toHaveLength(0);
    // As it comes back from an activity through Temporal: an ActivityFailure whose cause has the type.
    expect(isOurFault({ name: 'ActivityFailure', cause: { type: OUR_FAULT } })).toBe(true);
    expect(isOurFault(new Error('timeout'))).toBe(false);
  });
});

describe('the seller client: the seller\'s faults come back as values and are recorded', () => {
  it('tells timeout, refused connection, non-200, bad Body-Sign, unparseable and unexpected replies apart', async () => {
    const c = client();
    const at = async (url: string, accessKey = KEY) => (await seedSaasProduct(database.db, { productionUrl: url, accessKey })).productId;

    const slow = await at(seller.url);
    seller.faults.slowMs = 1500;
    const timeout = await call(c, slow);
    seller.faults.slowMs = undefined;
    expect(timeout.fault).toMatchObject({ kind: 'timeout' });

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect((await call(c, await at(`http://127.0.0.1:${closedPort}/saasproduce`))).fault).toMatchObject({ kind: 'refused' });

    const down = await at(seller.url);
    seller.faults.downUntil = Number.MAX_SAFE_INTEGER;
    const r503 = await call(c, down);
    seller.faults.downUntil = undefined;
    expect(r503.fault).toEqual({ kind: 'http-status', status: 503, message: 'HTTP 503' });

    const rawProduct = await at(rawUrl);
    answer = { status: 200, body: '{"resultCode":"000000"}', headers: { 'body-sign': bodySignHeader('another-key-entirely', '{"resultCode":"000000"}') } };
    expect((await call(c, rawProduct)).fault).toMatchObject({ kind: 'bad-body-sign' });
    answer = { status: 200, body: '<html>oops</html>' };
    expect((await call(c, rawProduct)).fault).toMatchObject({ kind: 'unparseable' });
    answer = { status: 200, body: '{"resultCode":"OK"}' };
    expect((await call(c, rawProduct)).fault).toMatchObject({ kind: 'unexpected-reply' });
    answer = { status: 200, body: '{"resultCode":"000000"}', headers: { 'body-sign': bodySignHeader(KEY, '{"resultCode":"000000"}') } };
    const good = await call(c, rawProduct);
    expect(good).toMatchObject({ outcome: 'success', signed: true, resultCode: '000000' });
    expect(good.fault).toBeUndefined();

    // A result code is a valid reply; the default judgement retries it.
    answer = { status: 200, body: '{"resultCode":"000005","resultMsg":"busy"}' };
    expect(await call(c, rawProduct)).toMatchObject({ outcome: 'retryable', resultCode: '000005', error: 'result code 000005: busy' });

    const recorded = await database.db.select({ productId: interfaceMessages.productId, outcome: interfaceMessages.outcome, error: interfaceMessages.error }).from(interfaceMessages);
    expect(recorded.filter((m) => m.productId === rawProduct).map((m) => m.outcome)).toEqual(['retryable', 'retryable', 'retryable', 'success', 'retryable']);
    expect(recorded.find((m) => m.productId === slow)?.error).toMatch(/timeout/);
  });

  it('records the reply with credentials masked, and gives the caller the real ones', async () => {
    const { productId } = await seedSaasProduct(database.db, { productionUrl: rawUrl, accessKey: KEY });
    const body = JSON.stringify({ resultCode: '000000', info: [{ instanceId: 'i-9', appInfo: { frontEndUrl: 'https://x.example.com', userName: 'admin-i-9', password: 'S3cret-Pass!' } }] });
    answer = { status: 200, body, headers: { 'body-sign': bodySignHeader(KEY, body) } };
    const r = await call(client(), productId, { instanceId: 'i-9' });
    expect(r.data?.info?.[0]?.appInfo?.password).toBe('S3cret-Pass!');
    const [m] = await messages(productId);
    expect(m!.response).not.toContain('S3cret-Pass!');
    expect(m!.response).not.toContain('admin-i-9');
    expect(JSON.parse(m!.response!).info[0].appInfo).toEqual({ frontEndUrl: 'https://x.example.com', userName: '***', password: '***' });
    // A broken reply is masked as text.
    answer = { status: 200, body: '{"info":[{"appInfo":{"password":"Also-Secret", "userName": "root"' };
    await call(client(), productId, { instanceId: 'i-9' });
    const stored = (await messages(productId)).map((x) => x.response).join('\n');
    expect(stored).not.toContain('Also-Secret');
    expect(stored).not.toContain('root');
    expect((await database.db.select().from(products).where(eq(products.id, productId)))[0]!.accessKeyEnc).not.toContain(KEY);
  });
});

describe('the seller client: addresses and signatures', () => {
  const strict = { SELLER_ALLOW_HTTP: 'false', SELLER_ALLOW_PRIVATE: 'false' };
  it('refuses a name that resolves to a private or metadata address at call time (DNS rebinding), and records nothing', async () => {
    for (const address of ['10.0.0.1', '169.254.169.254', '127.0.0.1', '::1']) {
      const { productId } = await seedSaasProduct(database.db, { productionUrl: 'https://seller.example.com/saasproduce', accessKey: KEY });
      const lookup: Lookup = (_host, cb) => cb(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
      const c = createSellerClient({ db: database.db, config: loadConfig({ MASTER_KEY: TEST_MASTER_KEY, ...strict }), lookup });
      const r = await call(c, productId);
      expect(r.fault, address).toMatchObject({ kind: 'address-refused' });
      expect(r.outcome).toBe('retryable');
      expect(await messages(productId)).toHaveLength(0);
    }
    // Link-local and metadata addresses are refused even where loopback and http are allowed.
    const meta = await seedSaasProduct(database.db, { productionUrl: 'http://169.254.169.254/latest', accessKey: KEY });
    expect((await call(client(), meta.productId)).fault).toMatchObject({ kind: 'address-refused' });
  });

  it('refuses a reply without a Body-Sign when the product requires one, and one with a wrong Body-Sign always', async () => {
    const { productId } = await seedSaasProduct(database.db, { productionUrl: rawUrl, accessKey: KEY });
    answer = { status: 200, body: '{"resultCode":"000000"}' };
    expect(await call(client(), productId)).toMatchObject({ outcome: 'success', signed: false });
    expect((await database.db.select().from(products).where(eq(products.id, productId)))[0]!.repliesSigned).toBe(false);
    await database.db.update(products).set({ requireBodySign: true }).where(eq(products.id, productId));
    const unsigned = await call(client(), productId);
    expect(unsigned).toMatchObject({ outcome: 'retryable', fault: { kind: 'unsigned' } });
    answer = { status: 200, body: '{"resultCode":"000000"}', headers: { 'body-sign': bodySignHeader(KEY, '{"resultCode":"000001"}') } };
    expect((await call(client(), productId)).fault).toMatchObject({ kind: 'bad-body-sign' });
    answer = { status: 200, body: '{"resultCode":"000000"}', headers: { 'body-sign': bodySignHeader(KEY, '{"resultCode":"000000"}') } };
    expect(await call(client(), productId)).toMatchObject({ outcome: 'success', signed: true });
    expect((await database.db.select().from(products).where(eq(products.id, productId)))[0]!.repliesSigned).toBe(true);
  });
});

