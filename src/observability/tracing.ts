import {
  context,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';

export type { Span, Tracer };

/** The service's tracer: spans exported over OTLP when an endpoint (or a test's processor) is given, else a no-op. */
export interface Tracing {
  readonly tracer: Tracer;
  readonly enabled: boolean;
  /** Records spans (true) or hands out non-recording ones (false) from now on; the overhead benchmark alternates. */
  setRecording(on: boolean): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** A tracer that starts its spans on the SDK's tracer, or the API's no-op one while recording is off. */
class SwitchableTracer implements Tracer {
  recording = true;
  constructor(
    private readonly on: Tracer,
    private readonly off: Tracer,
  ) {}
  private get current(): Tracer {
    return this.recording ? this.on : this.off;
  }
  startSpan(...args: Parameters<Tracer['startSpan']>): Span {
    return this.current.startSpan(...args);
  }
  startActiveSpan: Tracer['startActiveSpan'] = (...args: unknown[]) =>
    (this.current.startActiveSpan as (...a: unknown[]) => never)(...args);
}

const W3C = new W3CTraceContextPropagator();
let contextManagerSet = false;

/** Spans nest through async calls only with a context manager; one per process (the SDK's own AsyncLocalStorage one). */
function ensureContextManager(): void {
  if (contextManagerSet) return;
  contextManagerSet = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

export function createTracing(opts: { endpoint?: string; serviceName?: string; processors?: SpanProcessor[] } = {}): Tracing {
  const processors = [...(opts.processors ?? [])];
  if (opts.endpoint) {
    const url = `${opts.endpoint.replace(/\/+$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1000 }));
  }
  if (processors.length === 0) {
    // No provider registered: the API hands out non-recording spans, which cost next to nothing.
    return {
      tracer: trace.getTracer('hks-aiops'),
      enabled: false,
      setRecording: () => undefined,
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
  }
  ensureContextManager();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName ?? 'hks-aiops' }),
    spanProcessors: processors,
  });
  const tracer = new SwitchableTracer(provider.getTracer('hks-aiops'), trace.getTracer('hks-aiops'));
  return {
    tracer,
    enabled: true,
    setRecording: (on) => {
      tracer.recording = on;
    },
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** The caller's trace context from a `traceparent` header (W3C), else the root. */
export function extractParent(headers: Headers): Context {
  return W3C.extract(ROOT_CONTEXT, headers, {
    get: (h, key) => h.get(key) ?? undefined,
    keys: (h) => [...h.keys()],
  });
}

/** Runs `fn` inside a new active span; errors mark the span and pass on. */
export async function inSpan<T>(
  tracer: Tracer | undefined,
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  opts: { kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  if (!tracer) return fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  const parent = opts.parent ?? context.active();
  const span = tracer.startSpan(name, { attributes, kind: opts.kind ?? SpanKind.INTERNAL }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

export { SpanKind, SpanStatusCode };
