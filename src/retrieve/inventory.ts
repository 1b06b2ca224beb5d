// A vault inventory (JSON or Glacier's CSV) as a list of archives.
import { UsageError } from '../core/errors.js';

export interface InventoryArchive {
  ArchiveId: string;
  ArchiveDescription: string;
  CreationDate: string;
  Size: number;
  SHA256TreeHash: string;
}

/**
 * Glacier's CSV is not RFC 4180: a quoted field escapes `"` as `\"`, and leaves other backslashes alone.
 */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    let field = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && line[i + 1] === '"') {
          field += '"';
          i += 2;
        } else field += line[i++];
      }
      i++; // closing quote
    } else {
      while (i < line.length && line[i] !== ',') field += line[i++];
    }
    out.push(field);
    if (line[i] !== ',') break;
    i++;
  }
  return out;
}

export function parseInventory(text: string, contentType?: string): InventoryArchive[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && !/csv/i.test(contentType ?? '')) {
    let doc: { ArchiveList?: InventoryArchive[] };
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`the inventory is not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(doc.ArchiveList)) throw new UsageError('the job output is not an inventory (no ArchiveList)');
    return doc.ArchiveList;
  }
  const lines = text.split(/\r?\n/).filter((l) => l.length);
  const header = parseCsvLine(lines.shift() ?? '').map((h) => h.trim());
  const want = ['ArchiveId', 'ArchiveDescription', 'CreationDate', 'Size', 'SHA256TreeHash'];
  if (want.some((w) => !header.includes(w))) throw new UsageError(`the job output is not an inventory: CSV header is "${header.join(',')}"`);
  return lines.map((l) => {
    const f = parseCsvLine(l);
    const get = (k: string) => f[header.indexOf(k)] ?? '';
    return { ArchiveId: get('ArchiveId'), ArchiveDescription: get('ArchiveDescription'), CreationDate: get('CreationDate'), Size: Number(get('Size')), SHA256TreeHash: get('SHA256TreeHash') };
  });
}
