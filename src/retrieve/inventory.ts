// A vault inventory (JSON or Glacier's CSV) read as a stream of archive records, in bounded memory whatever
// its size: a 2,000,000-archive inventory is about 600 MB of JSON, more than one JavaScript string can hold.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import chain from 'stream-chain';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { IntegrityError } from '../core/errors.js';
import { letYoungGenerationGrow } from '../core/heap.js';

/** One archive of an inventory, with the field names and forms of Glacier's JSON inventory. */
export interface ArchiveRecord {
  ArchiveId: string;
  ArchiveDescription: string;
  /** ISO 8601 UTC, e.g. 2026-01-31T12:00:00.000Z */
  CreationDate: string;
  /** bytes */
  Size: number;
  /** 64 lowercase or uppercase hex digits, as the inventory gives it */
  SHA256TreeHash: string;
}

export type InventoryFormat = 'JSON' | 'CSV';

const ID = '[A-Za-z0-9_-]+';
const DATE = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?Z';
const HASH = '[0-9a-fA-F]{64}';
// Amazon may enclose any field in quotes; the fixed-form fields never contain `,` or `"`, so each is matched
// with optional quotes around it. The archive id comes first and CreationDate, Size and SHA256TreeHash last:
// whatever lies between is the description, whatever characters it holds (greedy `.*`).
const ROW = new RegExp(`^("?)(${ID})\\1,(.*),("?)(${DATE})\\4,("?)(\\d+)\\6,("?)(${HASH})\\8$`);
const HEADER = ['ArchiveId', 'ArchiveDescription', 'CreationDate', 'Size', 'SHA256TreeHash'];

/**
 * The description field of a CSV inventory row, decoded. Glacier's CSV is not RFC 4180: a field holding `,` or
 * `"` is quoted, an embedded `"` is written `\"`, and backslashes themselves are NOT escaped
 * (../shared/glacier-protocol.md §7.4, from the developer guide). So inside quotes every `"` is preceded by the
 * backslash that escapes it, and `\"` always decodes to `"`: `"a\\""` is `a\"`, `"a\"` is `a\` (the closing
 * quote is found by the fixed-form fields after it, never by scanning). Returns null when the field cannot be
 * Amazon's encoding of any description (a bare `"` inside quotes, an opening quote without its closing one).
 */
export function decodeCsvDescription(field: string): string | null {
  if (!field.startsWith('"')) return field.includes('"') ? null : field;
  if (field.length < 2 || !field.endsWith('"')) return null;
  const inner = field.slice(1, -1);
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (ch === '\\' && inner[i + 1] === '"') {
      out += '"';
      i++;
    } else if (ch === '"') return null;
    else out += ch;
  }
  return out;
}

/**
 * One data row of a CSV inventory as an archive record. Throws IntegrityError naming `lineNo` (1-based, the
 * header being line 1) when the row does not have the five fields in their fixed forms: a field never silently
 * becomes 0 or "".
 */
function parseCsvRow(line: string, lineNo: number): ArchiveRecord {
  const m = ROW.exec(line);
  const description = m ? decodeCsvDescription(m[3]) : null;
  // A Size past 2^53 would come out rounded, as the JSON reader refuses it too.
  if (!m || description === null || !Number.isSafeInteger(Number(m[7]))) {
    const shown = line.length > 120 ? `${line.slice(0, 120)}...` : line;
    throw new IntegrityError(`inventory line ${lineNo} is not a valid CSV inventory row (ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash): ${JSON.stringify(shown)}`);
  }
  return { ArchiveId: m[2], ArchiveDescription: description, CreationDate: m[5], Size: Number(m[7]), SHA256TreeHash: m[9] };
}

async function* readCsv(body: Readable): AsyncGenerator<ArchiveRecord> {
  const lines = createInterface({ input: body, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (lineNo === 1) {
        const cols = line.replace(/^\uFEFF/, '').split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
        if (cols.join(',') !== HEADER.join(',')) throw new IntegrityError(`the job output is not a CSV inventory: line 1 is "${line.slice(0, 120)}", not "${HEADER.join(',')}"`);
        continue;
      }
      if (line === '') continue; // a blank line holds no archive (the last line ends with \n)
      yield parseCsvRow(line, lineNo);
    }
  } finally {
    lines.close();
  }
  if (lineNo === 0) throw new IntegrityError('the job output is empty, not a CSV inventory (a CSV inventory has at least its header line)');
}

function checkJsonRecord(v: unknown, index: number): ArchiveRecord {
  const a = v as Record<string, unknown>;
  const bad = (what: string) => new IntegrityError(`archive ${index + 1} of the inventory (ArchiveList[${index}]) has ${what}`);
  if (!a || typeof a !== 'object' || Array.isArray(a)) throw bad('no fields (it is not an object)');
  if (typeof a.ArchiveId !== 'string' || !new RegExp(`^${ID}$`).test(a.ArchiveId)) throw bad('no valid ArchiveId');
  if (typeof a.ArchiveDescription !== 'string') throw bad('no ArchiveDescription string');
  if (typeof a.CreationDate !== 'string' || !new RegExp(`^${DATE}$`).test(a.CreationDate)) throw bad('no valid CreationDate');
  if (typeof a.Size !== 'number' || !Number.isSafeInteger(a.Size) || a.Size < 0) throw bad('no valid Size');
  if (typeof a.SHA256TreeHash !== 'string' || !new RegExp(`^${HASH}$`).test(a.SHA256TreeHash)) throw bad('no valid SHA256TreeHash');
  // A fixed key order, so that the JSON and the CSV inventory of one vault give identical lines.
  return { ArchiveId: a.ArchiveId, ArchiveDescription: a.ArchiveDescription, CreationDate: a.CreationDate, Size: a.Size, SHA256TreeHash: a.SHA256TreeHash };
}

async function* readJson(body: Readable): AsyncGenerator<ArchiveRecord> {
  let depth = 0;
  let listSeen = false;
  // Notes whether the document has a top-level ArchiveList at all: an object without one is not an
  // inventory, and must not pass for an empty one.
  const watch = (tok: parser.Token): parser.Token => {
    if (tok.name === 'startObject' || tok.name === 'startArray') depth++;
    else if (tok.name === 'endObject' || tok.name === 'endArray') depth--;
    else if (depth === 1 && tok.name === 'keyValue' && tok.value === 'ArchiveList') listSeen = true;
    return tok;
  };
  // The parser allocates an object per token: a young generation kept small for the byte path would slow it.
  letYoungGenerationGrow();
  const pipeline = chain([body, parser(), watch, pick({ filter: 'ArchiveList' }), streamArray()]);
  let index = 0;
  try {
    for await (const item of pipeline as AsyncIterable<{ key: number; value: unknown }>) yield checkJsonRecord(item.value, index++);
  } catch (e) {
    if (e instanceof IntegrityError) throw e;
    // stream-json's parse errors are plain Errors; a network failure of the body is not a parse error.
    if (/parse|expected|Top-level|unexpected/i.test((e as Error).message) && !(e as NodeJS.ErrnoException).code) {
      throw new IntegrityError(`the inventory is not valid JSON after ${index} archives: ${(e as Error).message}`);
    }
    throw e;
  } finally {
    pipeline.destroy();
  }
  if (!listSeen) throw new IntegrityError('the job output is not a JSON inventory (no ArchiveList)');
}

/**
 * The archives of an inventory, in the order the inventory lists them, read from `body` (a job output stream)
 * with memory bounded by one record. `format` is the job's InventoryRetrievalParameters.Format.
 * Throws IntegrityError (exit 3) for output that is not a well-formed inventory, naming the CSV line or the
 * JSON archive's index; errors of `body` itself (network) pass through unchanged.
 */
export function readInventory(body: Readable, format: InventoryFormat): AsyncIterable<ArchiveRecord> {
  return format === 'CSV' ? readCsv(body) : readJson(body);
}

/** The inventory format of a job from its InventoryRetrievalParameters.Format (JSON when not given, as Glacier does). */
export function formatOf(jobFormat?: string | null): InventoryFormat {
  return jobFormat && /^csv$/i.test(jobFormat) ? 'CSV' : 'JSON';
}
