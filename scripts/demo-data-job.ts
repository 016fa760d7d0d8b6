/**
 * docker-compose.yml's `demo-data` job (also run by `make cluster`): creates the demo operator, buyer
 * and seller and the demo SaaS product once, with the reference seller's access key and address, and
 * prints the keys on one line (`DEMO_KEYS {…}`); they are shown only then, the database keeps hashes.
 * Later runs point the product at DEMO_SELLER_URL again (the seller may have moved) and change nothing else.
 */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { openDatabase } from '../db/client';
import { products } from '../db/schema';
import { createDemoData, DEMO_PRODUCT_ID } from './demo-data';

const env = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  MASTER_KEY: z.string().min(1),
  SELLER_ACCESS_KEY: z.string().min(16),
  DEMO_SELLER_URL: z.url({ protocol: /^https?$/ }),
}).safeParse(process.env);
if (!env.success) {
  console.error(`invalid demo-data configuration:\n${env.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  process.exit(2);
}
const { DATABASE_URL, MASTER_KEY, SELLER_ACCESS_KEY, DEMO_SELLER_URL } = env.data;
const database = await openDatabase({ url: DATABASE_URL, poolSize: 2 });
try {
  const moved = await database.db.update(products).set({ productionUrl: DEMO_SELLER_URL, updatedAt: new Date() })
    .where(eq(products.id, DEMO_PRODUCT_ID)).returning({ id: products.id });
  if (moved.length) {
    console.log(`demo data already there (its keys were printed when it was made); product ${DEMO_PRODUCT_ID} calls ${DEMO_SELLER_URL}`);
  } else {
    const demo = await createDemoData(database.db, { masterKey: MASTER_KEY, sellerUrl: DEMO_SELLER_URL, sellerAccessKey: SELLER_ACCESS_KEY });
    console.log(`DEMO_KEYS ${JSON.stringify(demo)}`);
  }
} finally {
  await database.close();
}
