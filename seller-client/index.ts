export { baseReply, createSellerClient, outboundPolicy, defaultJudge, MAX_REPLY_BYTES, sendSigned, type Judgement, type RawReply, type Outcome, type SellerCall, type SellerCallResult, type SellerClient, type SellerReply } from './client';
export { isOurFault, OUR_FAULT, OurFault, type OurFaultReason, type SellerFault } from './faults';
export { MASK, maskSecrets, maskSecretsInText } from './mask';
export { newInstanceReply, queryInstanceReply } from './replies';
export { refuseAddress, refuseUrl, type OutboundPolicy } from './address-guard';
