import { z } from 'zod';

/**
 * OTLP/HTTP JSON (lowerCamelCase field names, hex trace and span ids, 64-bit
 * integers as strings or numbers, enums as integers). Unknown fields are
 * ignored, as the OTLP spec asks of receivers.
 *
 * Validation has two levels: the envelope (arrays of resources and scopes)
 * fails the whole request with 400; a bad record is rejected on its own and
 * reported through OTLP's partial-success response.
 */

const Uint64 = z
  .union([z.string().regex(/^\d{1,20}$/, 'expected an unsigned integer'), z.number().int().nonnegative()])
  .transform((v) => (typeof v === 'number' ? BigInt(Math.round(v)).toString() : v.replace(/^0+(?=\d)/, '')));

/** Nanoseconds since the epoch, within what DateTime64(9) holds. */
const TimeNanos = Uint64.refine((v) => v.length < 19 || (v.length === 19 && v <= '9200000000000000000'), {
  message: 'timestamp is out of range (after the year 2261)',
});

const Int64 = z.union([z.string().regex(/^-?\d{1,19}$/, 'expected an integer'), z.number().int()]).transform((v) => String(v));

const hexId = (len: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^([0-9a-fA-F]{${len}})?$`), `expected a ${what} of ${len} hex characters`)
    .transform((v) => (/^0*$/.test(v) ? '' : v.toLowerCase()));

export const TraceId = hexId(32, 'trace id');
export const SpanId = hexId(16, 'span id');

export type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
};
export type KeyValue = { key: string; value?: AnyValue };

export const AnyValue: z.ZodType<AnyValue, unknown> = z.lazy(() =>
  z.object({
    stringValue: z.string().optional(),
    boolValue: z.boolean().optional(),
    intValue: Int64.optional(),
    doubleValue: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number)]).optional(),
    arrayValue: z.object({ values: z.array(AnyValue).optional() }).optional(),
    kvlistValue: z.object({ values: z.array(KeyValue).optional() }).optional(),
    bytesValue: z.string().optional(),
  }),
);

export const KeyValue: z.ZodType<KeyValue, unknown> = z.lazy(() => z.object({ key: z.string().max(1024), value: AnyValue.optional() }));

const Attributes = z.array(KeyValue).max(1024).optional();

const Resource = z.object({ attributes: Attributes, droppedAttributesCount: z.number().int().optional() });
export const Scope = z.object({
  name: z.string().optional(),
  version: z.string().optional(),
  attributes: Attributes,
});

const enumOf = <T extends string>(names: readonly T[], prefix: string) =>
  z.union([
    z
      .number()
      .int()
      .min(0)
      .max(names.length - 1),
    z.string().transform((s, ctx) => {
      const i = names.findIndex((n) => n === s || `${prefix}${n.toUpperCase()}` === s);
      if (i < 0) {
        ctx.addIssue({ code: 'custom', message: `expected one of ${names.join(', ')}` });
        return z.NEVER;
      }
      return i;
    }),
  ]);

export const SPAN_KINDS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'] as const;
export const STATUS_CODES = ['Unset', 'Ok', 'Error'] as const;

export const LogRecord = z.object({
  timeUnixNano: TimeNanos.optional(),
  observedTimeUnixNano: TimeNanos.optional(),
  severityNumber: z.number().int().min(0).max(24).optional(),
  severityText: z.string().max(64).optional(),
  body: AnyValue.optional(),
  attributes: Attributes,
  flags: z.number().int().min(0).max(0xffffffff).optional(),
  traceId: TraceId.optional(),
  spanId: SpanId.optional(),
});
export type LogRecord = z.output<typeof LogRecord>;

const SpanEvent = z.object({ timeUnixNano: TimeNanos, name: z.string().max(1024), attributes: Attributes });
const SpanLink = z.object({ traceId: TraceId, spanId: SpanId, traceState: z.string().optional(), attributes: Attributes });

export const Span = z
  .object({
    traceId: TraceId.refine((v) => v !== '', 'a span needs a non-zero trace id'),
    spanId: SpanId.refine((v) => v !== '', 'a span needs a non-zero span id'),
    traceState: z.string().max(512).optional(),
    parentSpanId: SpanId.optional(),
    name: z.string().max(1024),
    kind: enumOf(SPAN_KINDS, 'SPAN_KIND_').optional(),
    startTimeUnixNano: TimeNanos,
    endTimeUnixNano: TimeNanos,
    attributes: Attributes,
    events: z.array(SpanEvent).max(1000).optional(),
    links: z.array(SpanLink).max(1000).optional(),
    status: z.object({ message: z.string().optional(), code: enumOf(STATUS_CODES, 'STATUS_CODE_').optional() }).optional(),
  })
  .refine((s) => BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano), {
    message: 'endTimeUnixNano is before startTimeUnixNano',
    path: ['endTimeUnixNano'],
  })
  .refine((s) => s.startTimeUnixNano !== '0', { message: 'startTimeUnixNano is required', path: ['startTimeUnixNano'] });
export type Span = z.output<typeof Span>;

const Exemplar = z.object({
  filteredAttributes: Attributes,
  timeUnixNano: TimeNanos.optional(),
  asDouble: z.number().optional(),
  asInt: Int64.optional(),
  spanId: SpanId.optional(),
  traceId: TraceId.optional(),
});
export type Exemplar = z.output<typeof Exemplar>;

export const NumberDataPoint = z.object({
  attributes: Attributes,
  startTimeUnixNano: TimeNanos.optional(),
  timeUnixNano: TimeNanos,
  asDouble: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number)]).optional(),
  asInt: Int64.optional(),
  exemplars: z.array(Exemplar).optional(),
  flags: z.number().int().min(0).optional(),
});
export type NumberDataPoint = z.output<typeof NumberDataPoint>;

export const HistogramDataPoint = z
  .object({
    attributes: Attributes,
    startTimeUnixNano: TimeNanos.optional(),
    timeUnixNano: TimeNanos,
    count: Uint64,
    sum: z.number().optional(),
    bucketCounts: z.array(Uint64).optional(),
    explicitBounds: z.array(z.number()).optional(),
    exemplars: z.array(Exemplar).optional(),
    flags: z.number().int().min(0).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .refine((p) => (p.bucketCounts?.length ?? 0) === 0 || p.bucketCounts!.length === (p.explicitBounds?.length ?? 0) + 1, {
    message: 'bucketCounts must have one more entry than explicitBounds',
    path: ['bucketCounts'],
  });
export type HistogramDataPoint = z.output<typeof HistogramDataPoint>;

/** Envelopes: records stay `unknown` here and are checked one by one. */
const records = z.array(z.unknown()).optional();

export const ExportLogsRequest = z.object({
  resourceLogs: z
    .array(
      z.object({
        resource: Resource.optional(),
        schemaUrl: z.string().optional(),
        scopeLogs: z.array(z.object({ scope: Scope.optional(), schemaUrl: z.string().optional(), logRecords: records })).optional(),
      }),
    )
    .optional(),
});
export type ExportLogsRequest = z.output<typeof ExportLogsRequest>;

export const ExportTracesRequest = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: Resource.optional(),
        schemaUrl: z.string().optional(),
        scopeSpans: z.array(z.object({ scope: Scope.optional(), schemaUrl: z.string().optional(), spans: records })).optional(),
      }),
    )
    .optional(),
});
export type ExportTracesRequest = z.output<typeof ExportTracesRequest>;

const MetricEnvelope = z.object({
  name: z.string().min(1, 'a metric needs a name').max(1024),
  description: z.string().optional(),
  unit: z.string().optional(),
  gauge: z.object({ dataPoints: records }).optional(),
  sum: z
    .object({
      dataPoints: records,
      aggregationTemporality: enumOf(['Unspecified', 'Delta', 'Cumulative'] as const, 'AGGREGATION_TEMPORALITY_').optional(),
      isMonotonic: z.boolean().optional(),
    })
    .optional(),
  histogram: z
    .object({
      dataPoints: records,
      aggregationTemporality: enumOf(['Unspecified', 'Delta', 'Cumulative'] as const, 'AGGREGATION_TEMPORALITY_').optional(),
    })
    .optional(),
  exponentialHistogram: z.object({ dataPoints: records }).optional(),
  summary: z.object({ dataPoints: records }).optional(),
});
export type MetricEnvelope = z.output<typeof MetricEnvelope>;

export const ExportMetricsRequest = z.object({
  resourceMetrics: z
    .array(
      z.object({
        resource: Resource.optional(),
        schemaUrl: z.string().optional(),
        scopeMetrics: z
          .array(z.object({ scope: Scope.optional(), schemaUrl: z.string().optional(), metrics: z.array(z.unknown()).optional() }))
          .optional(),
      }),
    )
    .optional(),
});
export type ExportMetricsRequest = z.output<typeof ExportMetricsRequest>;
export { MetricEnvelope };
