// The workflow bundle's entry point: every workflow type the worker runs.
export { merchantReview } from './merchant-review';
export { saasProvision } from './saas-provision';
export { dialTestRound } from './dial-tests';
export { sellerConformance } from './seller-conformance';
export { subscription } from './subscription';
export { imageAssetScan } from './image-asset';
export { productReview } from './product-review';
export { reconcileOpenRows } from './reconcile';
export { debugCall } from './debug-call';
export { supervision } from './supervision';
