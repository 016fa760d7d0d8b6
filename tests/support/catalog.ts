import type { Db } from '../../db/client';
import { topUp } from '../../db/ledger';
import { merchants, principals, products, skus } from '../../db/schema';
import { newId } from '../../domain/ids';
import { createSecretBox } from '../../domain/secret-box';

export const TEST_MASTER_KEY = 'a'.repeat(64);

/**
 * A seller with one SaaS product on sale whose production interface is `productionUrl`, one monthly
 * SKU, and a buyer with a balance: the rows an order needs, written as the catalog API would.
 */
export async function seedSaasProduct(db: Db, o: { productionUrl: string; accessKey: string; priceCents?: number; balanceCents?: number; chargingMode?: 'monthly' | 'one_time' }) {
  const owner = newId('P', 12);
  const buyer = newId('P', 12);
  const merchantId = newId('M', 12);
  const productId = newId('PR', 12);
  const skuId = newId('SK', 12);
  await db.insert(principals).values([
    { id: owner, role: 'buyer', name: 'Seller owner' },
    { id: buyer, role: 'buyer', name: 'Buyer', email: 'buyer@example.com' },
  ]);
  await db.insert(merchants).values({
    id: merchantId, ownerPrincipalId: owner, status: 'active', onboardingApplicationId: 'MA-test',
    profile: { companyName: 'Seller Co', customerServiceEmail: 'cs@seller.example.com', contactPhone: '+8613800000009' },
  });
  const seller = newId('P', 12);
  await db.insert(principals).values({ id: seller, role: 'seller', name: 'Seller', merchantId });
  await db.insert(products).values({
    id: productId, merchantId, name: 'Cloud CRM', deliveryType: 'saas', status: 'on_sale',
    productionUrl: o.productionUrl, accessKeyEnc: createSecretBox(TEST_MASTER_KEY).seal(o.accessKey),
  });
  await db.insert(skus).values({ id: skuId, productId, name: 'Standard, 1 month', chargingMode: o.chargingMode ?? 'monthly', periods: 1, priceCents: o.priceCents ?? 9900 });
  const balance = o.balanceCents ?? 100_000;
  if (balance > 0) await topUp(db, { key: `top-up:${buyer}:seed`, buyerId: buyer, amountCents: balance, memo: 'test balance' });
  return { owner, buyer, seller, merchantId, productId, skuId };
}

/**
 * A seller with one supervised product on sale (a delivery type and its delivery template) and one SKU,
 * and a buyer with a balance, as the catalog API would write them.
 */
export async function seedSupervisedProduct(db: Db, o: {
  kind: 'manual_service' | 'license' | 'hardware' | 'saas'; template?: string[]; chargingMode?: 'yearly' | 'monthly' | 'one_time'; priceCents?: number; balanceCents?: number;
}) {
  const [owner, buyer, seller, otherBuyer] = [newId('P', 12), newId('P', 12), newId('P', 12), newId('P', 12)];
  const merchantId = newId('M', 12);
  const productId = newId('PR', 12);
  const skuId = newId('SK', 12);
  await db.insert(principals).values([
    { id: owner, role: 'buyer', name: 'Seller owner' },
    { id: buyer, role: 'buyer', name: 'Buyer', email: 'buyer@example.com' },
    { id: otherBuyer, role: 'buyer', name: 'Another buyer' },
  ]);
  await db.insert(merchants).values({
    id: merchantId, ownerPrincipalId: owner, status: 'active', onboardingApplicationId: 'MA-test',
    profile: { companyName: 'Service Co', customerServiceEmail: 'cs@service.example.com', contactPhone: '+8613800000008' },
  });
  await db.insert(principals).values({ id: seller, role: 'seller', name: 'Seller', merchantId });
  await db.insert(products).values({
    id: productId, merchantId, name: `Supervised ${o.kind}`, deliveryType: o.kind, status: 'on_sale', supervised: true,
    deliveryTemplate: o.template ?? ['statement_of_work', 'acceptance_document'],
  });
  await db.insert(skus).values({ id: skuId, productId, name: 'Standard', chargingMode: o.chargingMode ?? 'monthly', periods: 1, priceCents: o.priceCents ?? 50_000 });
  await topUp(db, { key: `top-up:${buyer}:seed`, buyerId: buyer, amountCents: o.balanceCents ?? 100_000, memo: 'test balance' });
  await topUp(db, { key: `top-up:${otherBuyer}:seed`, buyerId: otherBuyer, amountCents: 100_000, memo: 'test balance' });
  return { owner, buyer, seller, otherBuyer, merchantId, productId, skuId };
}

/** The reference seller listens on http://127.0.0.1: tests allow what production refuses (seller-client/address-guard.ts). */
export const LOOPBACK_SELLERS = { SELLER_ALLOW_HTTP: 'true', SELLER_ALLOW_PRIVATE: 'true' } as const;
