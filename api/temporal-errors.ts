import { isGrpcServiceError, ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';

/** Temporal did not answer in time, or cannot be reached (gRPC CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE). */
export const isTemporalUnavailable = (e: unknown): boolean => {
  if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  const grpc = e instanceof ServiceError ? e.cause : e;
  return isGrpcServiceError(grpc) && [1, 4, 14].includes(grpc.code);
};
