import { describe, expect, it } from 'vitest';
import { releaseReviewWorkingDays } from '../../domain/release-review';

describe('the release review deadline', () => {
  const rule = { workingDays: 3, extensionDays: 1, busyThreshold: 10 };
  it('is 3 working days, 4 from the tenth application a seller files in a day', () => {
    expect(releaseReviewWorkingDays(rule, 1)).toBe(3);
    expect(releaseReviewWorkingDays(rule, 9)).toBe(3);
    expect(releaseReviewWorkingDays(rule, 10)).toBe(4);
    expect(releaseReviewWorkingDays(rule, 25)).toBe(4);
    expect(releaseReviewWorkingDays({ ...rule, extensionDays: 2 }, 10)).toBe(5);
  });
});
