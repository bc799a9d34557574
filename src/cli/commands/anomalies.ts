import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { AnomalyDetector } from '../../analysis/anomaly.ts';
import { CliError } from '../client.ts';
import { COMMAND_USAGE } from '../usage.ts';

const USAGE = COMMAND_USAGE.anomalies;

interface Row {
  line: number;
  text: string;
  t: number;
  value: number;
  valueText: string;
}

/** Milliseconds since the epoch, or undefined when the text is not a timestamp this command reads. */
function parseTimestamp(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    // Ten digits of seconds reach the year 2286; anything longer is milliseconds.
    return n < 1e11 ? n * 1000 : n;
  }
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  const zone = (m?.[5] ?? 'Z').toUpperCase().replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const date = /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : m ? `${m[1]}T${m[2]}${zone}` : undefined;
  if (!date) return undefined;
  const t = Date.parse(date);
  return Number.isNaN(t) ? undefined : t;
}

const unquote = (s: string) => s.trim().replace(/^"(.*)"$/, '$1');

/** Reads `timestamp,value` rows; throws a CliError naming the first bad line. */
function parseSeries(text: string, name: string): Row[] {
  const lines = text.split(/\r?\n/);
  const rows: Row[] = [];
  let header = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (!raw.trim()) continue;
    const fields = raw.split(',').map(unquote);
    const [ts, v] = fields;
    const t = ts === undefined ? undefined : parseTimestamp(ts);
    const value = v === undefined || v === '' ? Number.NaN : Number(v);
    if (!header && rows.length === 0 && (t === undefined || !Number.isFinite(value))) {
      // The header row: the first line, when it is not already data.
      header = true;
      continue;
    }
    const where = `${name}, line ${i + 1}`;
    if (fields.length !== 2) throw new CliError(`${where}: expected 2 fields (timestamp,value), got ${fields.length}: ${raw}`, 2);
    if (t === undefined) throw new CliError(`${where}: "${ts}" is not a timestamp (ISO 8601, YYYY-MM-DD HH:MM:SS or epoch)`, 2);
    if (!Number.isFinite(value)) throw new CliError(`${where}: "${v}" is not a number`, 2);
    const prev = rows.at(-1);
    if (prev && t < prev.t)
      throw new CliError(`${where}: ${ts} is earlier than the row before it (line ${prev.line}); sort the file by time`, 2);
    rows.push({ line: i + 1, text: ts!, t, value, valueText: v! });
  }
  return rows;
}

/**
 * aiops anomalies FILE.csv [--json] [--threshold T]: scores a metric series with the online
 * detector and prints each row with its score.
 */
export async function anomaliesCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      threshold: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [file, ...extra] = positionals;
  if (!file || extra.length) throw new CliError(USAGE, 2);
  const threshold = values.threshold === undefined ? 0 : Number(values.threshold);
  if (!(threshold >= 0 && threshold <= 1)) throw new CliError(`--threshold must be a number from 0 to 1 (got ${values.threshold})`, 2);
  if (file !== '-' && !fs.existsSync(file)) throw new CliError(`no such file: ${file}`, 2);

  const text = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
  const rows = parseSeries(text, file === '-' ? 'standard input' : file);
  const detector = new AnomalyDetector();
  const out = process.stdout;
  let buffer = values.json ? '' : 'timestamp,value,score\n';
  for (const row of rows) {
    const score = detector.push(row.t, row.value);
    if (score < threshold) continue;
    const rounded = Math.round(score * 1e4) / 1e4;
    buffer += values.json
      ? `${JSON.stringify({ timestamp: new Date(row.t).toISOString(), value: row.value, score: rounded, ...(score > 0 ? { kind: detector.lastKind } : {}) })}\n`
      : `${row.text},${row.valueText},${rounded}\n`;
    if (buffer.length > 64_000) {
      if (!out.write(buffer)) await new Promise((r) => out.once('drain', r));
      buffer = '';
    }
  }
  out.write(buffer);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
