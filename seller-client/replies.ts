import { z } from 'zod';
import { baseReply } from './client';

/** A newInstance answer (spec §1.5.1). */
export const newInstanceReply = baseReply.extend({ instanceId: z.string().min(1).max(64).optional() });

/** A queryInstance answer (spec §1.5.2). */
export const queryInstanceReply = baseReply.extend({
  info: z.array(z.object({
    instanceId: z.string(),
    appInfo: z.object({
      frontEndUrl: z.string().max(512), adminUrl: z.string().max(512).optional(),
      userName: z.string().max(128).optional(), password: z.string().max(128).optional(), memo: z.string().max(1024).optional(),
    }).optional(),
    usageInfo: z.array(z.object({ usageValue: z.number(), statisticalTime: z.string(), relatedInstanceId: z.string().optional(), dashboardUrl: z.string().optional() })).optional(),
  })).optional(),
});
