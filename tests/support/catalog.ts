import type { Db } from '../../db/client';
import { topUp } from '../../db/ledger';
import { merchants, principals, products, skus } from '../../db/schema';
import { newId } from '../../domain/ids';
import { createSecretBox } from '../../domain/secret-box';

export const TEST_MASTER_KEY = 'a'.repeat(64);

/**
 * The parties of a sale, as the API would write them: a seller (its owner, an active merchant and a seller
 * principal) and buyers, each topped up with `balanceCents` (the first) or 1,000.00 (the others).
 */
async function seedParties(db: Db, o: { company: string; phone: string; balanceCents: number; otherBuyers: number }) {
  const [owner, seller, buyer, ...others] = Array.from({ length: 3 + o.otherBuyers }, () => newId('P', 12));
  const merchantId = newId('M', 12);
  await db.insert(principals).values([
    { id: owner!, role: 'buyer', name: 'Seller owner' },
    { id: buyer!, role: 'buyer', name: 'Buyer', email: 'buyer@example.com' },
    ...others.map((id) => ({ id, role: 'buyer' as const, name: 'Another buyer' })),
  ]);
  const domain = `${o.company.split(' ')[0]!.toLowerCase()}.example.com`;
  await db.insert(merchants).values({
    id: merchantId, ownerPrincipalId: owner!, status: 'active', onboardingApplicationId: 'MA-test',
    profile: { companyName: o.company, customerServiceEmail: `cs@${domain}`, contactPhone: o.phone },
  });
  await db.insert(principals).values({ id: seller!, role: 'seller', name: 'Seller', merchantId });
  for (const [id, amountCents] of [[buyer!, o.balanceCents], ...others.map((id) => [id, 100_000] as const)] as const) {
    if (amountCents > 0) await topUp(db, { key: `top-up:${id}:seed`, buyerId: id, amountCents, memo: 'test balance' });
  }
  return { owner: owner!, seller: seller!, buyer: buyer!, others, merchantId };
}

/**
 * A seller with one SaaS product on sale whose production interface is `productionUrl`, one monthly
 * SKU, and a buyer with a balance: the rows an order needs, written as the catalog API would.
 */
export async function seedSaasProduct(db: Db, o: { productionUrl: string; accessKey: string; priceCents?: number; balanceCents?: number; chargingMode?: 'monthly' | 'one_time' }) {
  const { owner, buyer, seller, merchantId } = await seedParties(db, { company: 'Seller Co', phone: '+8613800000009', balanceCents: o.balanceCents ?? 100_000, otherBuyers: 0 });
  const productId = newId('PR', 12);
  const skuId = newId('SK', 12);
  await db.insert(products).values({
    id: productId, merchantId, name: 'Cloud CRM', deliveryType: 'saas', status: 'on_sale',
    productionUrl: o.productionUrl, accessKeyEnc: createSecretBox(TEST_MASTER_KEY).seal(o.accessKey),
  });
  await db.insert(skus).values({ id: skuId, productId, name: 'Standard, 1 month', chargingMode: o.chargingMode ?? 'monthly', periods: 1, priceCents: o.priceCents ?? 9900 });
  return { owner, buyer, seller, merchantId, productId, skuId };
}

/**
 * A seller with one supervised product on sale (a delivery type and its delivery template) and one SKU,
 * and two buyers with a balance, as the catalog API would write them.
 */
export async function seedSupervisedProduct(db: Db, o: {
  kind: 'manual_service' | 'license' | 'hardware' | 'saas'; template?: string[]; chargingMode?: 'yearly' | 'monthly' | 'one_time'; priceCents?: number; balanceCents?: number;
}) {
  const { owner, buyer, seller, others: [otherBuyer], merchantId } = await seedParties(db, { company: 'Service Co', phone: '+8613800000008', balanceCents: o.balanceCents ?? 100_000, otherBuyers: 1 });
  const productId = newId('PR', 12);
  const skuId = newId('SK', 12);
  await db.insert(products).values({
    id: productId, merchantId, name: `Supervised ${o.kind}`, deliveryType: o.kind, status: 'on_sale', supervised: true,
    deliveryTemplate: o.template ?? ['statement_of_work', 'acceptance_document'],
  });
  await db.insert(skus).values({ id: skuId, productId, name: 'Standard', chargingMode: o.chargingMode ?? 'monthly', periods: 1, priceCents: o.priceCents ?? 50_000 });
  return { owner, buyer, seller, otherBuyer: otherBuyer!, merchantId, productId, skuId };
}

/** The reference seller listens on http://127.0.0.1: tests allow what production refuses (seller-client/address-guard.ts). */
export const LOOPBACK_SELLERS = { SELLER_ALLOW_HTTP: 'true', SELLER_ALLOW_PRIVATE: 'true' } as const;
