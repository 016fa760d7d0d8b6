import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics on GET /metrics: the API's requests (count and latency by method, route and
 * status) and, when WORKER_METRICS_ADDRESS is set, the Temporal SDK's worker metrics (task slots,
 * workflow and activity task latencies, polls) that its Core exposes there, in one scrape.
 */
export function createMetrics(o: { workerMetricsAddress?: string | undefined }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'marketplace_' });
  const requests = new Counter({ name: 'marketplace_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'marketplace_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route', 'status'], registers: [registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });

  const record: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The route pattern, never the raw path: ids would make one series per resource.
      const labels = { method: req.method, route: (req.route?.path as string | undefined) ?? 'unmatched', status: String(res.statusCode) };
      requests.inc(labels);
      latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };

  const serve: RequestHandler = async (_req, res) => {
    let worker = '';
    if (o.workerMetricsAddress) {
      worker = await fetch(`http://${o.workerMetricsAddress}/metrics`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.text(), () => '# worker metrics unavailable\n');
    }
    res.type(registry.contentType).send(`${await registry.metrics()}\n${worker}`);
  };
  return { record, serve, registry };
}
