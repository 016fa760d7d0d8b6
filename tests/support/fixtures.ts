/** A valid onboarding application; tests override what they exercise. */
export function applicationInput(overrides: Record<string, unknown> = {}) {
  // Unified social credit codes are 18 characters; a random tail keeps companies apart between tests.
  const tail = Array.from({ length: 8 }, () => '0123456789ABCDEFGHJKLMNPQRTUWXY'[Math.floor(Math.random() * 31)]).join('');
  return {
    companyName: 'Acme Cloud Ltd',
    website: 'https://acme.example.com',
    businessLicenceNo: `9131000000${tail}`,
    address: '1 Century Avenue, Pudong, Shanghai',
    contactName: 'Li Lei',
    contactPhone: '+8613800138000',
    contactEmail: 'lilei@acme.example.com',
    customerServiceEmail: 'support@acme.example.com',
    logoUrl: 'https://acme.example.com/logo.png',
    hasMarketplaceContact: false,
    ...overrides,
  };
}
