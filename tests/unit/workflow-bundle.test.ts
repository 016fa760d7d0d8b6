import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../worker';

// The worker bundles workflow code at start-up; a Node built-in or heavy module imported into it
// would fail there. Bundling here makes such a leak fail CI instead.
describe('workflow bundle', () => {
  it('bundles every workflow without Node built-ins', async () => {
    const { code } = await bundleWorkflows();
    expect(code).toContain('merchantReview');
    expect(code).not.toMatch(/require\(["']node:/);
    expect(code).not.toContain('drizzle-orm');
    expect(code).not.toContain('nodemailer');
  });
});
