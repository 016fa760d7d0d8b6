import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { createPrincipal, issueApiKey } from '../api/auth';
import type { Db } from '../db/client';
import { topUp } from '../db/ledger';
import { merchants, products, skus } from '../db/schema';
import { createSecretBox } from '../domain/secret-box';

/** The demo SaaS product's id (docker-compose.yml's reference seller signs Query Order with it). */
export const DEMO_PRODUCT_ID = 'PRDEMOCRM00001';

export interface DemoData {
  operator: string; buyer: string; seller: string;
  sellerAccessKey: string; productId: string; skuId: string;
}

/**
 * What `make start` creates on its first run: an operator (supervisor), a buyer with a balance of
 * 1000.00, and a seller whose SaaS product is on sale with the reference seller as its interface.
 */
export async function createDemoData(db: Db, o: { masterKey: string; sellerUrl: string; sellerAccessKey?: string }): Promise<DemoData> {
  const operatorId = await createPrincipal(db, { role: 'operator', name: 'Demo operator (supervisor)', email: 'ops-supervisor@marketplace.local', supervisor: true });
  const buyerId = await createPrincipal(db, { role: 'buyer', name: 'Demo buyer', email: 'buyer@example.com' });
  await topUp(db, { key: `top-up:${buyerId}:demo`, buyerId, amountCents: 100_000, memo: 'demo balance' });
  const ownerId = await createPrincipal(db, { role: 'buyer', name: 'Demo seller owner' });
  const merchantId = 'MDEMOSELLER0001';
  await db.insert(merchants).values({
    id: merchantId, ownerPrincipalId: ownerId, status: 'active', onboardingApplicationId: 'MADEMO',
    profile: { companyName: 'Demo SaaS Co', customerServiceEmail: 'cs@demo-seller.example.com', contactPhone: '+8613800000000' },
  });
  const sellerId = await createPrincipal(db, { role: 'seller', name: 'Demo seller', merchantId });
  const sellerAccessKey = o.sellerAccessKey ?? randomBytes(24).toString('base64url');
  const productId = DEMO_PRODUCT_ID;
  const skuId = 'SKDEMOCRMMONTH';
  await db.insert(products).values({
    id: productId, merchantId, name: 'Demo CRM (SaaS)', deliveryType: 'saas', status: 'on_sale',
    productionUrl: o.sellerUrl, accessKeyEnc: createSecretBox(o.masterKey).seal(sellerAccessKey),
  });
  await db.insert(skus).values({ id: skuId, productId, name: 'Standard, 1 month', chargingMode: 'monthly', periods: 1, priceCents: 9900 });
  return {
    operator: await issueApiKey(db, operatorId, 'demo'), buyer: await issueApiKey(db, buyerId, 'demo'), seller: await issueApiKey(db, sellerId, 'demo'),
    sellerAccessKey, productId, skuId,
  };
}

/** The demo product calls the reference seller on the port of this run (DEMO_SELLER_PORT may change between runs). */
export async function pointDemoProductAt(db: Db, productId: string, sellerUrl: string): Promise<void> {
  await db.update(products).set({ productionUrl: sellerUrl, updatedAt: new Date() }).where(eq(products.id, productId));
}
