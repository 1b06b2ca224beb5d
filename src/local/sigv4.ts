// Server-side AWS Signature Version 4 verification for glacier-local (header auth and presigned query auth).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface SigV4Request {
  method: string;
  rawUrl: string;
  headers: IncomingHttpHeaders;
}
export type SigV4Failure = { ok: false; status: number; code: string; message: string };
export type SigV4Result = { ok: true; accessKeyId: string; region: string; service: string; signedHeaders: string[] } | SigV4Failure;

export const SERVICE = 'glacier';
const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const fail = (status: number, code: string, message: string): SigV4Failure => ({ ok: false, status, code, message });
const incomplete = (message: string) => fail(400, 'IncompleteSignatureException', message);
const invalid = (message: string) => fail(403, 'InvalidSignatureException', message);

/** RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - _ . ~ */
export const rfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed escapes: keep raw; the '%' gets re-encoded, so the signature simply won't match
  }
}

/** Non-S3 canonical URI: dot segments and empty segments removed (as both the JS SDK and botocore do), then each
 *  raw, still percent-encoded segment encoded again, so '/a%20b' canonicalizes to '/a%2520b'. */
export function canonicalUri(rawPath: string): string {
  const out: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  if (out.length === 0) return '/';
  return '/' + out.map(rfc3986).join('/') + (rawPath.endsWith('/') ? '/' : '');
}

// A raw '+' is a space, as URLSearchParams reads it: SDKs send literal '+' as %2B, but botocore's AWSRequest
// `params` are sent form-encoded ('+') while signed as %20.
const formDecode = (s: string) => safeDecode(s.replace(/\+/g, ' '));

export function parseQuery(rawQuery: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(eq < 0 ? [formDecode(part), ''] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))]);
  }
  return pairs;
}

export function canonicalQuery(pairs: [string, string][]): string {
  const enc = pairs.map(([k, v]) => [rfc3986(k), rfc3986(v)]);
  // Plain code-unit ordering (not localeCompare): the encoded strings are ASCII, so this is byte order.
  enc.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return enc.map(([k, v]) => `${k}=${v}`).join('&');
}

const trimAll = (v: string) => v.replace(/[ \t]+/g, ' ').trim();
function canonicalHeaderValue(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  // Note: node joins most repeated headers into one string with ', '; only an array keeps them distinct.
  return Array.isArray(v) ? v.map(trimAll).join(',') : trimAll(v);
}

/**
 * SHA-256 (hex) of a canonical request over the bytes the client sent. Node's HTTP parser hands header values
 * over as latin1, one character per byte on the wire, so a UTF-8 `café` arrives as `cafÃ©`; every other part of
 * the canonical request is ASCII. Hashing that string as latin1 gives back the wire bytes (what the client signed:
 * botocore and the AWS CLI sign UTF-8). A string holding a character above U+00FF cannot have come off the wire
 * (a caller built the headers itself), and is hashed as UTF-8.
 */
export function canonicalRequestHash(canonicalRequest: string): string {
  const wire = !/[^\u0000-\u00ff]/.test(canonicalRequest);
  return createHash('sha256').update(canonicalRequest, wire ? 'latin1' : 'utf8').digest('hex');
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
}

const fmtBasic = (d: Date) => d.toISOString().replace(/[-:]|\.\d{3}/g, '');

/** ISO-8601 basic (20240101T000000Z); the `date` header may also be an HTTP-date (botocore sends RFC 1123 there). */
function parseAmzDate(value: string, allowHttpDate: boolean): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m) {
    const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    return Number.isNaN(t) || fmtBasic(new Date(t)) !== value ? undefined : value;
  }
  const t = allowHttpDate && /[A-Za-z]{3},? /.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(t) ? undefined : fmtBasic(new Date(t));
}
const basicToMs = (b: string) =>
  Date.UTC(+b.slice(0, 4), +b.slice(4, 6) - 1, +b.slice(6, 8), +b.slice(9, 11), +b.slice(11, 13), +b.slice(13, 15));

const headerString = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Verifies a request's signature given the SHA-256 (hex) of its payload; see checkSigV4 for a two-step form. */
export function verifySigV4(
  req: SigV4Request,
  payloadHash: string,
  lookupSecret: (accessKeyId: string) => string | undefined,
  now: Date = new Date(),
): SigV4Result {
  const pre = checkSigV4(req, lookupSecret, now);
  return pre.ok ? pre.verify(payloadHash) : pre;
}

export type SigV4Check = { ok: true; verify(payloadHash: string): SigV4Result } | SigV4Failure;

/**
 * Everything of SigV4 that does not need the payload: the Authorization header (or presigned query) is well
 * formed, scoped to `glacier`, dated within 15 minutes, signs `host`, and names a known access key. A server can
 * refuse a request on this alone before reading a byte of its body; `verify` then checks the signature itself
 * once the payload hash is known (from x-amz-content-sha256 or the read body).
 */
export function checkSigV4(req: SigV4Request, lookupSecret: (accessKeyId: string) => string | undefined, now: Date = new Date()): SigV4Check {
  const q = req.rawUrl.indexOf('?');
  const rawPath = q < 0 ? req.rawUrl : req.rawUrl.slice(0, q);
  let query = parseQuery(q < 0 ? '' : req.rawUrl.slice(q + 1));
  const qget = (k: string) => query.find(([key]) => key === k)?.[1];
  const auth = headerString(req.headers.authorization);
  const presigned = auth === undefined && qget('X-Amz-Algorithm') !== undefined;

  let algorithm: string | undefined, credential: string | undefined, signedList: string | undefined;
  let signature: string | undefined, dateValue: string | undefined, expiresMs = MAX_SKEW_MS;
  if (auth !== undefined) {
    const a = auth.trim();
    const sp = a.indexOf(' ');
    algorithm = sp < 0 ? a : a.slice(0, sp);
    const params = new Map<string, string>();
    for (const part of (sp < 0 ? '' : a.slice(sp + 1)).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    [credential, signedList, signature] = ['Credential', 'SignedHeaders', 'Signature'].map((k) => params.get(k));
  } else if (presigned) {
    algorithm = qget('X-Amz-Algorithm');
    credential = qget('X-Amz-Credential');
    signedList = qget('X-Amz-SignedHeaders');
    signature = qget('X-Amz-Signature');
    dateValue = qget('X-Amz-Date');
    const expires = qget('X-Amz-Expires') ?? '';
    if (!/^\d{1,6}$/.test(expires) || +expires < 1 || +expires > 604800) {
      return incomplete('X-Amz-Expires must be an integer number of seconds between 1 and 604800.');
    }
    expiresMs = +expires * 1000;
    query = query.filter(([k]) => k !== 'X-Amz-Signature');
  } else {
    return fail(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  }

  if (algorithm !== ALGORITHM) return incomplete(`Unsupported AWS 'algorithm': '${algorithm}'. Expected '${ALGORITHM}'.`);
  const missing = (['Credential', 'SignedHeaders', 'Signature'] as const)
    .filter((_, i) => !([credential, signedList, signature][i]))
    .map((k) => `Authorization header requires '${k}' parameter.`);
  if (missing.length) return incomplete(missing.join(' '));
  const scope = credential!.split('/');
  if (scope.length !== 5 || scope.some((s) => s === '')) {
    return incomplete(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'.`);
  }
  const [accessKeyId, scopeDate, region, service, terminator] = scope;
  if (terminator !== 'aws4_request') {
    return invalid(`Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);
  }
  if (service !== SERVICE) return invalid(`Credential should be scoped to correct service: '${SERVICE}'.`);

  // x-amz-date wins over date; the signed string always uses the ISO-8601 basic form.
  const xAmzDate = headerString(req.headers['x-amz-date']);
  const rawDate = presigned ? dateValue : (xAmzDate ?? headerString(req.headers.date));
  if (rawDate === undefined) {
    return incomplete(`Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.`);
  }
  const amzDate = parseAmzDate(rawDate, !presigned && xAmzDate === undefined);
  if (!amzDate) return incomplete(`Date must be in ISO-8601 'basic format'. Got '${rawDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  if (scopeDate !== amzDate.slice(0, 8)) {
    return invalid(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
  }
  const skew = now.getTime() - basicToMs(amzDate);
  if (skew > expiresMs) {
    const label = presigned ? `${expiresMs / 1000} sec.` : '15 min.';
    return invalid(`Signature expired: ${amzDate} is now earlier than ${fmtBasic(new Date(now.getTime() - expiresMs))} (${fmtBasic(now)} - ${label})`);
  }
  if (skew < -MAX_SKEW_MS) {
    return invalid(`Signature not yet current: ${amzDate} is still later than ${fmtBasic(new Date(now.getTime() + MAX_SKEW_MS))} (${fmtBasic(now)} + 15 min.)`);
  }

  const signedHeaders = signedList!.split(';');
  if (!signedHeaders.includes('host')) {
    return incomplete(`'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`);
  }
  const secret = lookupSecret(accessKeyId);
  if (secret === undefined) {
    return fail(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  }

  const verify = (payloadHash: string): SigV4Result => {
    const canonicalRequest = [
      req.method.toUpperCase(),
      canonicalUri(rawPath),
      canonicalQuery(query),
      signedHeaders.map((h) => `${h}:${canonicalHeaderValue(req.headers[h.toLowerCase()])}\n`).join(''),
      signedList,
      payloadHash,
    ].join('\n');
    const stringToSign = [ALGORITHM, amzDate, scope.slice(1).join('/'), canonicalRequestHash(canonicalRequest)].join('\n');
    const expected = Buffer.from(
      createHmac('sha256', signingKey(secret, scopeDate, region, service)).update(stringToSign, 'utf8').digest('hex'),
    );
    const given = Buffer.from(signature!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid(MISMATCH);
    return { ok: true, accessKeyId, region, service, signedHeaders };
  };
  return { ok: true, verify };
}
