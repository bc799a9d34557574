import { z } from 'zod';

/** OpenTelemetry severity ranges: a minimum severity filter covers its range and everything above. */
const SEVERITIES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;

const MIN_NUMBER: Record<Severity, number> = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 };
const TEXT: Record<Severity, string[]> = {
  TRACE: ['TRACE', 'DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'FATAL', 'CRITICAL'],
  DEBUG: ['DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'FATAL', 'CRITICAL'],
  INFO: ['INFO', 'WARN', 'WARNING', 'ERROR', 'FATAL', 'CRITICAL'],
  WARN: ['WARN', 'WARNING', 'ERROR', 'FATAL', 'CRITICAL'],
  ERROR: ['ERROR', 'FATAL', 'CRITICAL'],
  FATAL: ['FATAL', 'CRITICAL'],
};

/** SQL condition (with parameters) for "at least this severity": by number, or by text when the number is missing. */
export function severityFilter(min: Severity | undefined): { sql: string; params: Record<string, unknown> } {
  if (!min) return { sql: '1', params: {} };
  return {
    sql: '(SeverityNumber >= {min_severity:UInt8} OR (SeverityNumber = 0 AND upper(SeverityText) IN {severity_texts:Array(String)}))',
    params: { min_severity: MIN_NUMBER[min], severity_texts: TEXT[min] },
  };
}
