import { z } from 'zod';
import { defineTool } from '../definition.ts';
import { between, IN_WORKSPACE } from '../run.ts';
import { windowFields } from '../window.ts';
import { Severity, severityFilter } from './severity.ts';
import { hhmm } from '../../core/window.ts';

interface Line {
  ts: string;
  service: string;
  severity: string;
  body: string;
  trace_id: string;
}

const MAX_BODY = 500;

export const logSearch = defineTool({
  name: 'log_search',
  prefix: 'ls',
  category: 'sre',
  description:
    'Log lines matching filters (service, minimum severity, text or regular expression, log attributes, trace id), newest first, with the total number of matches. Long bodies are cut. Use it to read the actual messages behind a pattern or an error.',
  args: z
    .object({
      service: z.string().min(1).max(200).optional(),
      severity: Severity.optional().describe('minimum severity'),
      text: z.string().min(1).max(200).optional().describe('case-insensitive substring of the body'),
      pattern: z.string().min(1).max(300).optional().describe('RE2 regular expression the body must match (case-insensitive)'),
      attributes: z
        .record(z.string().min(1).max(128), z.string().max(256))
        .refine((a) => Object.keys(a).length <= 5, 'at most 5 attribute filters')
        .optional()
        .describe('log attributes that must equal these values'),
      trace_id: z
        .string()
        .regex(/^[0-9a-fA-F]{32}$/, 'expected a trace id of 32 hex characters')
        .transform((v) => v.toLowerCase())
        .optional(),
      limit: z.number().int().min(1).max(200).default(50),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '30m',
  patterns: ['pattern'],
  async run(run, args) {
    const sev = severityFilter(args.severity);
    const attrs = Object.entries(args.attributes ?? {});
    // Attribute filters: the SQL shape is fixed per position; keys and values are parameters.
    const attrSql = attrs.map((_, i) => ` AND LogAttributes[{attr_key_${i}:String}] = {attr_value_${i}:String}`).join('');
    const attrParams = Object.fromEntries(
      attrs.flatMap(([k, v], i) => [
        [`attr_key_${i}`, k],
        [`attr_value_${i}`, v],
      ]),
    );
    const where = `${IN_WORKSPACE} AND ${between('Timestamp', 'w')}
         AND TimestampTime >= toDateTime(intDiv({w_from:Int64}, 1000)) AND TimestampTime <= toDateTime(intDiv({w_to:Int64}, 1000))
         AND ({service:String} = '' OR ServiceName = {service:String})
         AND ${sev.sql}
         AND ({text:String} = '' OR positionCaseInsensitiveUTF8(Body, {text:String}) > 0)
         AND ({pattern:String} = '' OR match(Body, concat('(?i)', {pattern:String})))
         AND ({trace_id:String} = '' OR TraceId = {trace_id:String})${attrSql}`;
    const params = {
      ...run.timeParams,
      ...sev.params,
      ...attrParams,
      service: args.service ?? '',
      text: args.text ?? '',
      pattern: args.pattern ?? '',
      trace_id: args.trace_id ?? '',
    };
    const [lines, total] = await Promise.all([
      run.query<Line>(
        `SELECT toString(Timestamp) AS ts, ServiceName AS service, SeverityText AS severity,
                substring(Body, 1, ${MAX_BODY + 1}) AS body, TraceId AS trace_id
         FROM otel_logs WHERE ${where}
         ORDER BY Timestamp DESC LIMIT {limit:UInt32}`,
        { ...params, limit: args.limit },
      ),
      run.query<{ n: number }>(`SELECT count() AS n FROM otel_logs WHERE ${where}`, params),
    ]);
    const matched = Number(total.rows[0]?.n ?? 0);
    if (matched === 0) return { evidence: [], notes: ['no log lines match'] };
    const filters = [
      args.service && `service ${args.service}`,
      args.severity && `severity ≥ ${args.severity}`,
      args.text && `text "${args.text}"`,
      args.pattern && `pattern /${args.pattern}/`,
      args.trace_id && `trace ${args.trace_id}`,
      ...attrs.map(([k, v]) => `${k}=${v}`),
    ].filter(Boolean);
    const evidence = [
      run.evidence({
        kind: 'log_lines',
        service: args.service,
        summary: `${matched} log line${matched === 1 ? '' : 's'} match${filters.length ? ` (${filters.join(', ')})` : ''}; newest ${lines.rows.length} shown`,
        numbers: { matched, shown: lines.rows.length },
        attributes: Object.fromEntries(filters.map((f, i) => [`filter_${i}`, String(f)])),
        query_id: lines.queryId,
        examples: lines.rows.map(
          (l) =>
            `${hhmm(Date.parse(`${l.ts}Z`))} ${l.service} ${l.severity} ${l.body.length > MAX_BODY ? `${l.body.slice(0, MAX_BODY)}…` : l.body}${l.trace_id ? ` (trace ${l.trace_id})` : ''}`,
        ),
      }),
    ];
    return { evidence };
  },
});
