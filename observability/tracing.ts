import { createRequire } from 'node:module';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, NoopSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { makeWorkflowExporter, OpenTelemetryWorkflowClientInterceptor, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import type { RequestHandler } from 'express';

/**
 * OpenTelemetry traces: the HTTP request, the workflow start, the workflow, its activities and the
 * seller call, one trace id (the Temporal interceptors carry the context in headers). Off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test passes its own exporter); when off every span is a no-op.
 */
export interface Tracing { spanProcessor: SpanProcessor; resource: Resource; enabled: boolean; shutdown(): Promise<void> }

let active: Tracing | undefined;

export function setupTracing(o: { otlpEndpoint?: string; exporter?: SpanExporter; serviceName?: string } = {}): Tracing {
  if (active) return active;
  const resource = new Resource({ 'service.name': o.serviceName ?? 'marketplace' });
  if (!o.otlpEndpoint && !o.exporter) return { spanProcessor: new NoopSpanProcessor(), resource, enabled: false, shutdown: async () => undefined };
  const spanProcessor = o.exporter ? new SimpleSpanProcessor(o.exporter) : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${o.otlpEndpoint!.replace(/\/$/, '')}/v1/traces` }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  active = { spanProcessor, resource, enabled: true, shutdown: () => provider.shutdown() };
  return active;
}

/** The OpenTelemetry workflow interceptors, bundled with the workflow code (worker.ts). */
export const WORKFLOW_TRACING_MODULE = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** The worker's side: activity interceptors and the sink that exports the workflow interceptors' spans. */
export function workerTracing(t: Tracing = setupTracing()): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    interceptors: { activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })] },
    sinks: { exporter: makeWorkflowExporter(t.spanProcessor, t.resource) },
  };
}

/** One server span per HTTP request, named by its route, with the request id. */
export const httpSpans: RequestHandler = (req, res, next) => {
  trace.getTracer('marketplace-api').startActiveSpan(`HTTP ${req.method}`, { kind: SpanKind.SERVER, attributes: {
    'http.request.method': req.method, 'url.path': req.path, 'http.request_id': String(req.id ?? ''),
  } }, (span: Span) => {
    res.on('finish', () => {
      span.updateName(`${req.method} ${(req.route?.path as string | undefined) ?? req.path}`);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    next();
  });
};

/** Runs `fn` in a child span; the seller client names each call so. */
export function inSpan<T>(name: string, attributes: Record<string, string>, fn: (span: Span) => Promise<T>): Promise<T> {
  return trace.getTracer('marketplace').startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

/** The Temporal client's side: a workflow start carries the caller's trace context. */
export const clientTracing = { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
