/** Shared with the API: the id of a debug call's workflow. */
export const debugCallWorkflowId = (productId: string, callId: string) => `debug-call:${productId}:${callId}`;
