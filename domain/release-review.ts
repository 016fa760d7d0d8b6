/**
 * The release review's deadline rule (spec §5.2): the same N working days as seller onboarding, extended
 * when the seller filed `busyThreshold` (10) or more release applications that calendar day (Asia/Shanghai).
 * The spec says only that the SLA is extended; by how much is ours to choose: `extensionDays`, 1 by default.
 */
export interface ReleaseReviewRule { workingDays: number; extensionDays: number; busyThreshold: number }

export function releaseReviewWorkingDays(rule: ReleaseReviewRule, filedThatDay: number): number {
  return rule.workingDays + (filedThatDay >= rule.busyThreshold ? rule.extensionDays : 0);
}
