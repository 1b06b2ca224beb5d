// What a restore costs on AWS's list prices: a table kept here (each figure with the page it comes from and the
// date it was read), `--prices FILE` to give another (a newer page, another region, a negotiated rate), and the
// arithmetic of a plan against it. Free allowances (the first 100 GB a month out to the internet) and tiered
// discounts past 10 TB are left out: the figure is an upper bound for a migration, not an invoice.
import { readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';

/** One price, in the table's currency, and the page it was read from. */
export interface Figure {
  usd: number;
  source: string;
}

/** The prices of one region. Retrieval and S3 figures are keyed by tier and by S3 storage class. */
export interface RegionPrices {
  /** Vault retrieval, per GB retrieved, by tier (Expedited, Standard, Bulk). */
  retrievalPerGB: Record<string, Figure>;
  /** Vault retrieval requests (one per archive-retrieval job), per 1,000, by tier. */
  retrievalPer1000: Record<string, Figure>;
  /** Data transfer out of AWS to the internet, per GB (the first paid tier). */
  transferOutPerGB: Figure;
  /** S3 PUT, COPY, POST and LIST requests (CreateMultipartUpload, UploadPart, CompleteMultipartUpload), per 1,000, by storage class. */
  s3PutPer1000: Record<string, Figure>;
  /** S3 storage, per GB-month, by storage class. */
  s3StoragePerGBMonth: Record<string, Figure>;
}

export interface PriceTable {
  currency: 'USD';
  /** YYYY-MM-DD: when the pages were read. */
  pricesAsOf: string;
  regions: Record<string, RegionPrices>;
}

const GLACIER = 'https://aws.amazon.com/s3/glacier/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/';
// AWS's worked example of Standard and Expedited retrieval costs (same figures as the pricing page).
const REPOST = 'https://repost.aws/knowledge-center/s3-manage-data-retrieval';
const f = (usd: number, source: string): Figure => ({ usd, source });

// US East (N. Virginia), US East (Ohio) and US West (Oregon) share these list prices.
const US: RegionPrices = {
  retrievalPerGB: { Expedited: f(0.03, REPOST), Standard: f(0.01, REPOST), Bulk: f(0.0025, GLACIER) },
  retrievalPer1000: { Expedited: f(10, REPOST), Standard: f(0.05, REPOST), Bulk: f(0.025, GLACIER) },
  transferOutPerGB: f(0.09, S3),
  s3PutPer1000: {
    STANDARD: f(0.005, S3), REDUCED_REDUNDANCY: f(0.005, S3), STANDARD_IA: f(0.01, S3), ONEZONE_IA: f(0.01, S3),
    INTELLIGENT_TIERING: f(0.005, S3), GLACIER_IR: f(0.02, S3), GLACIER: f(0.03, S3), DEEP_ARCHIVE: f(0.05, S3),
  },
  s3StoragePerGBMonth: {
    STANDARD: f(0.023, S3), REDUCED_REDUNDANCY: f(0.024, S3), STANDARD_IA: f(0.0125, S3), ONEZONE_IA: f(0.01, S3),
    INTELLIGENT_TIERING: f(0.023, S3), GLACIER_IR: f(0.004, S3), GLACIER: f(0.0036, S3), DEEP_ARCHIVE: f(0.00099, S3),
  },
};

/** The project's table: AWS's list prices as read on `pricesAsOf`. */
export const DEFAULT_PRICES: PriceTable = {
  currency: 'USD',
  pricesAsOf: '2026-12-07',
  regions: { 'us-east-1': US, 'us-east-2': US, 'us-west-2': US },
};

/** The region priced when the run's region is not in the table. */
export const FALLBACK_REGION = 'us-east-1';

/**
 * Reads a price table (JSON of the PriceTable shape) from `path`. Throws UsageError naming the first field that
 * is missing or not a price.
 */
export function readPrices(path: string): PriceTable {
  let t: PriceTable;
  try {
    t = JSON.parse(readFileSync(path, 'utf8')) as PriceTable;
  } catch (e) {
    throw new UsageError(`cannot read --prices ${path}: ${(e as Error).message}; give a JSON price table (see README, "What it costs")`);
  }
  const bad = (what: string) => new UsageError(`--prices ${path}: ${what}; give a JSON price table (see README, "What it costs")`);
  if (!t || typeof t !== 'object' || t.currency !== 'USD') throw bad('"currency" must be "USD"');
  if (typeof t.pricesAsOf !== 'string' || !/^\d{4}-\d\d-\d\d$/.test(t.pricesAsOf)) throw bad('"pricesAsOf" must be YYYY-MM-DD');
  if (!t.regions || typeof t.regions !== 'object' || !Object.keys(t.regions).length) throw bad('"regions" lists no region');
  const price = (v: unknown, at: string) => {
    if (!v || typeof v !== 'object' || typeof (v as Figure).usd !== 'number' || !((v as Figure).usd >= 0) || !Number.isFinite((v as Figure).usd)) throw bad(`${at} is not {"usd": NUMBER, "source": URL}`);
  };
  for (const [r, p] of Object.entries(t.regions)) {
    if (!p || typeof p !== 'object') throw bad(`regions.${r} is not an object of prices`);
    for (const k of ['retrievalPerGB', 'retrievalPer1000', 's3PutPer1000', 's3StoragePerGBMonth'] as const) {
      if (!p[k] || typeof p[k] !== 'object') throw bad(`regions.${r}.${k} is missing`);
      for (const [name, v] of Object.entries(p[k])) price(v, `regions.${r}.${k}.${name}`);
    }
    price(p.transferOutPerGB, `regions.${r}.transferOutPerGB`);
  }
  return t;
}

/** What a plan moves: jobs started and their bytes, the archives' sizes (for S3 parts), and where to. */
export interface CostInput {
  tier: string;
  /** Archive-retrieval jobs to start (one per archive not yet done). */
  jobs: number;
  /** Bytes those jobs retrieve. */
  jobBytes: number;
  /** 'dir' and 'exec' leave AWS (transfer out is charged); 's3' stays in the region (no transfer charge). */
  destination: 'dir' | 'exec' | 's3';
  storageClass?: string;
  /** S3 PUT-class requests of the uploads: per archive, CreateMultipartUpload + one per part + CompleteMultipartUpload. */
  s3Requests?: number;
  /** S3 objects the uploads make (default: one per job). */
  s3Objects?: number;
}

export interface Cost {
  currency: 'USD';
  region: string;
  pricesAsOf: string;
  retrieval: number;
  requests: number;
  transfer: number;
  s3Requests: number;
  s3StoragePerMonth: number;
  total: number;
}

/** GB as AWS bills it: 2^30 bytes. */
export const GB = 2 ** 30;

/**
 * S3's chargeable overhead per object in the GLACIER and DEEP_ARCHIVE storage classes: 40 KB of metadata, 8 KB
 * billed at S3 Standard's storage price and 32 KB at the class's (https://aws.amazon.com/s3/pricing/, storage:
 * "Amazon S3 adds 40 KB of chargeable overhead for metadata"). KB as 1,024 bytes.
 */
export const S3_OBJECT_OVERHEAD: Record<string, { standardBytes: number; classBytes: number }> = {
  GLACIER: { standardBytes: 8 * 1024, classBytes: 32 * 1024 },
  DEEP_ARCHIVE: { standardBytes: 8 * 1024, classBytes: 32 * 1024 },
};

/** Rounded to a millionth of a dollar, so sums of small plans are not shown as 0 and figures stay readable. */
export const usd = (n: number): number => Math.round(n * 1e6) / 1e6;

/** The S3 requests of one archive's multipart upload with parts of `partSize` (raised to fit 10,000 parts, as the S3 sink does). */
export function s3RequestsFor(size: number, partSize: number): number {
  const MiB = 2 ** 20;
  const p = Math.max(partSize, Math.ceil(size / 10_000 / MiB) * MiB);
  return 2 + Math.max(1, Math.ceil(size / p));
}

/**
 * The cost of a plan against `table` for `region` (the table's FALLBACK_REGION when it lacks that region; the
 * region priced is in the result). Each line is the table's figure times the plan's count: retrieval per GB and per
 * 1,000 jobs for the tier, transfer out per GB (folder or command), S3 PUT-class requests per 1,000 and one month of
 * S3 storage for the storage class (S3), with S3_OBJECT_OVERHEAD per object for GLACIER and DEEP_ARCHIVE. Throws UsageError when the table has no figure for the tier or class.
 */
export function priceOf(input: CostInput, table: PriceTable, region: string | undefined): Cost {
  const r = region && table.regions[region] ? region : table.regions[FALLBACK_REGION] ? FALLBACK_REGION : Object.keys(table.regions)[0];
  const p = table.regions[r];
  const need = (v: Figure | undefined, what: string) => {
    if (!v) throw new UsageError(`the price table has no ${what} for ${r}; give --prices FILE with it`);
    return v.usd;
  };
  const gb = input.jobBytes / GB;
  const retrieval = gb * need(p.retrievalPerGB[input.tier], `retrieval price per GB for ${input.tier}`);
  const requests = (input.jobs / 1000) * need(p.retrievalPer1000[input.tier], `retrieval request price for ${input.tier}`);
  const transfer = input.destination === 's3' ? 0 : gb * need(p.transferOutPerGB, 'transfer-out price');
  let s3Requests = 0;
  let s3StoragePerMonth = 0;
  if (input.destination === 's3') {
    const cls = input.storageClass ?? 'DEEP_ARCHIVE';
    s3Requests = ((input.s3Requests ?? 0) / 1000) * need(p.s3PutPer1000[cls], `S3 PUT price for ${cls}`);
    s3StoragePerMonth = gb * need(p.s3StoragePerGBMonth[cls], `S3 storage price for ${cls}`);
    const over = S3_OBJECT_OVERHEAD[cls];
    if (over) {
      const objects = input.s3Objects ?? input.jobs;
      s3StoragePerMonth += ((objects * over.classBytes) / GB) * need(p.s3StoragePerGBMonth[cls], `S3 storage price for ${cls}`);
      s3StoragePerMonth += ((objects * over.standardBytes) / GB) * need(p.s3StoragePerGBMonth.STANDARD, 'S3 storage price for STANDARD (the 8 KB per object billed at its rate)');
    }
  }
  const total = retrieval + requests + transfer + s3Requests + s3StoragePerMonth;
  return { currency: 'USD', region: r, pricesAsOf: table.pricesAsOf, retrieval: usd(retrieval), requests: usd(requests), transfer: usd(transfer), s3Requests: usd(s3Requests), s3StoragePerMonth: usd(s3StoragePerMonth), total: usd(total) };
}
