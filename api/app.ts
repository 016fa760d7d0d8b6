import { randomUUID } from 'node:crypto';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { Client } from '@temporalio/client';
import express, { Router } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { createMetrics } from '../observability/metrics';
import { httpSpans } from '../observability/tracing';
import { createKeyStore, type KeyStore } from './auth';
import { createHealth } from './health';
import { createIdempotencyKeys } from './idempotency';
import { declaredRoute, methodGate } from './edge';
import { statesEveryConstraint } from './open-api-document';
import { notFoundHandler, problemHandler } from './problem';
import { createOrderService, type OrderService } from './order-service';
import { createSubscriptionService, type SubscriptionService } from './subscription-service';
import { createReviewService, type ReviewService } from './review-service';
import type { ReviewIntake } from './review-intake';
import { apiKeyRoutes } from './routes/api-keys';
import { catalogRoutes } from './routes/catalog';
import { conformanceRoutes } from './routes/conformance';
import { dialTestRoutes } from './routes/dial-tests';
import { ledgerRoutes } from './routes/ledger';
import { openApiRoutes } from './routes/open-api';
import { orderRoutes } from './routes/orders';
import { subscriptionRoutes } from './routes/subscriptions';
import { calendarRoutes } from './routes/calendar';
import { merchantApplicationRoutes } from './routes/merchant-applications';
import { merchantRoutes } from './routes/merchants';
import { messageRoutes } from './routes/messages';
import { reviewRoutes } from './routes/reviews';
import { stuckProcessRoutes } from './routes/stuck-processes';
import { imageRoutes } from './routes/images';
import { productApplicationRoutes } from './routes/product-applications';
import { supervisionRoutes } from './routes/supervision';
import type { ArtifactStore } from '../artifacts';

/** `intake`: pass the process's one intake so main.ts can run its sweep and drain it on shutdown. */
export interface AppDeps { db: Db; temporal: Client; config: Config; logger: Logger; intake?: ReviewIntake; artifacts?: ArtifactStore }
export interface RouteContext { router: Router; registry: OpenAPIRegistry; db: Db; config: Config; temporal: Client; reviews: ReviewService; orders: OrderService; subscriptions: SubscriptionService; keys: KeyStore; artifacts?: ArtifactStore }

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

export function createApp(deps: AppDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.locals.idempotencyKeys = createIdempotencyKeys(deps.db);
  app.use(pinoHttp({
    logger: deps.logger,
    // A caller's own request id is kept when it is sane, so its logs and ours line up.
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customProps: (_req, res) => ({ principal: res.locals?.principalId }),
    // API keys must never reach the logs.
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    serializers: { req: (r) => ({ id: r.id, method: r.method, url: r.url }) },
    // One line per request that reads on its own in the pretty format; health probes are not events.
    autoLogging: { ignore: (req) => req.url === '/healthz' },
    customSuccessMessage: (req, res, ms) => `${req.method} ${req.url} ${res.statusCode} ${Math.round(ms)} ms`,
    customErrorMessage: (req, res, err) => `${req.method} ${req.url} ${res.statusCode}: ${err.message}`,
  }));
  app.use(httpSpans);
  const metrics = createMetrics({ workerMetricsAddress: deps.config.WORKER_METRICS_ADDRESS });
  app.use(metrics.record);
  // No body parser here: each route reads its body after the key, the role and the media type were checked (api/route.ts).

  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', description: 'API key: `mk_<id>_<secret>`' });
  const v1 = Router();
  const keys = createKeyStore(deps.db, deps.config.API_KEY_CACHE_MS);
  const ctx: RouteContext = { router: v1, registry, db: deps.db, config: deps.config, temporal: deps.temporal, reviews: createReviewService(deps), orders: createOrderService(deps), subscriptions: createSubscriptionService(deps), keys, artifacts: deps.artifacts };
  merchantApplicationRoutes(ctx);
  reviewRoutes(ctx);
  merchantRoutes(ctx);
  messageRoutes(ctx);
  calendarRoutes(ctx);
  catalogRoutes(ctx);
  orderRoutes(ctx);
  subscriptionRoutes(ctx);
  openApiRoutes(ctx);
  dialTestRoutes(ctx);
  apiKeyRoutes(ctx);
  ledgerRoutes(ctx);
  stuckProcessRoutes(ctx);
  conformanceRoutes(ctx);
  imageRoutes(ctx);
  productApplicationRoutes(ctx);
  supervisionRoutes(ctx);

  const document = statesEveryConstraint(new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Marketplace back end', version: '0.1.0', description: 'Long-running marketplace processes on Temporal. Errors are application/problem+json (RFC 9457).' },
    servers: [{ url: '/' }],
  }));
  const declared = registry.definitions.flatMap((d) => (d.type === 'route' ? [declaredRoute(d.route.method, d.route.path.replace(/\{(\w+)\}/g, ':$1'))] : []));
  const health = createHealth(deps.db, deps.config);
  app.get('/healthz', async (_req, res) => { res.json(await health()); });
  app.get('/metrics', metrics.serve);
  app.get('/openapi.json', (_req, res) => { res.json(document); });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(document, { customSiteTitle: 'Marketplace API' }));
  // Routes carry their full /v1 paths (they are also the OpenAPI paths); every one of them needs a key.
  app.use('/v1', keys.authenticate);
  app.use(methodGate(declared));
  app.use(v1);
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
