// Injected faults, so tests can prove that clients survive a misbehaving service.
// A rule: OP:KIND[:key=value,...], OP an operation name (UploadMultipartPart, GetJobOutput, ...) or `*`.
//   KIND  500       ServiceUnavailableException (500)       throttle  ThrottlingException (400)
//         408       RequestTimeoutException (408)           drop      the connection is cut mid-body
//         slow      the answer waits `ms` (default 2000) and a job output trickles out
//         corrupt   one byte of a GetJobOutput body is flipped (its tree-hash header stays right)
//         repeat-marker  a listing (ListVaults, ListMultipartUploads, ListParts, ListJobs) answers its first page
//                   with the same non-null Marker whatever marker was sent, so a client paging on never ends
//   keys  rate=0.1  fire on that fraction of matching requests (default 1)
//         count=N   fire at most N times, then the rule is spent
//         skip=N    let the first N matching requests through
//         ms=N      delay for `slow`
import { setTimeout as wait } from 'node:timers/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GlacierError } from './glacier-error.js';

export type FaultKind = '500' | 'throttle' | '408' | 'drop' | 'slow' | 'corrupt' | 'repeat-marker';
const KINDS: FaultKind[] = ['500', 'throttle', '408', 'drop', 'slow', 'corrupt', 'repeat-marker'];

/** The operations answering a Marker, the only ones a `repeat-marker` rule applies to. */
export const LISTING_OPS: ReadonlySet<string> = new Set(['ListVaults', 'ListMultipartUploads', 'ListParts', 'ListJobs']);

function checkRule(rule: FaultRule, text: string): FaultRule {
  if (rule.kind === 'repeat-marker' && rule.op !== '*' && !LISTING_OPS.has(rule.op)) {
    throw new Error(`invalid fault rule "${text}": repeat-marker applies to ${[...LISTING_OPS].join(', ')} or *`);
  }
  return rule;
}

export interface FaultRule {
  op: string;
  kind: FaultKind;
  rate?: number;
  count?: number;
  skip?: number;
  ms?: number;
}

export function parseFaultSpec(spec: string): FaultRule[] {
  return spec
    .split(/[;\s]+/)
    .filter(Boolean)
    .map((text) => {
      const [op, kind, opts = ''] = text.split(':');
      if (!op || !KINDS.includes(kind as FaultKind)) throw new Error(`invalid fault rule "${text}": expected OP:KIND[:key=value,...] with KIND one of ${KINDS.join(', ')}`);
      const rule: FaultRule = { op, kind: kind as FaultKind };
      for (const kv of opts.split(',').filter(Boolean)) {
        const [k, val] = kv.split('=');
        const n = Number(val);
        if (!['rate', 'count', 'skip', 'ms'].includes(k) || !Number.isFinite(n) || n < 0) throw new Error(`invalid fault option "${kv}" in "${text}"`);
        (rule as unknown as Record<string, number>)[k] = n;
      }
      return checkRule(rule, text);
    });
}

export function validateRules(rules: unknown): FaultRule[] {
  if (!Array.isArray(rules)) throw new Error('faults must be a list of rules');
  return rules.map((r) => {
    const rule = r as FaultRule;
    if (typeof rule?.op !== 'string' || !KINDS.includes(rule.kind)) throw new Error(`invalid fault rule ${JSON.stringify(r)}`);
    return checkRule({ ...rule }, JSON.stringify(r));
  });
}

interface LiveRule extends FaultRule {
  seen: number;
  fired: number;
}

export class Faults {
  private rules: LiveRule[] = [];
  /** How many times each kind fired per operation, for tests to read. */
  readonly fired: Record<string, Record<string, number>> = {};

  constructor(private readonly random: () => number = Math.random) {}

  set(rules: FaultRule[]): void {
    this.rules = rules.map((r) => ({ ...r, seen: 0, fired: 0 }));
  }

  add(rules: FaultRule[]): void {
    this.rules.push(...rules.map((r) => ({ ...r, seen: 0, fired: 0 })));
  }

  list(): FaultRule[] {
    return this.rules.map(({ seen, fired, ...r }) => ({ ...r, remaining: r.count === undefined ? undefined : r.count - fired }));
  }

  /** The faults that fire for one request (at most one of each kind). */
  pick(op: string): Map<FaultKind, FaultRule> {
    const out = new Map<FaultKind, FaultRule>();
    for (const r of this.rules) {
      if (r.op !== op && r.op !== '*') continue;
      if (out.has(r.kind)) continue;
      if (r.kind === 'repeat-marker' && !LISTING_OPS.has(op)) continue;
      r.seen++;
      if (r.seen <= (r.skip ?? 0)) continue;
      if (r.count !== undefined && r.fired >= r.count) continue;
      if (this.random() >= (r.rate ?? 1)) continue;
      r.fired++;
      out.set(r.kind, r);
      (this.fired[op] ??= {})[r.kind] = ((this.fired[op] ??= {})[r.kind] ?? 0) + 1;
    }
    return out;
  }
}

/** Waits `ms`; resolves true when they passed, false at once when `signal` aborts first. */
const sleepUnless = (ms: number, signal?: AbortSignal): Promise<boolean> => wait(ms, undefined, { signal }).then(() => true, () => false);

/**
 * Applies the faults that act before an operation runs: `slow` waits, `drop` cuts the connection (except for
 * GetJobOutput, whose handler cuts its body midway), `500`/`throttle`/`408` throw the service's error after the
 * body is drained. Resolves true when the connection was dropped (the request is then logged here).
 * `corrupt`, `repeat-marker` and GetJobOutput's `drop`/`slow` are applied by the handlers.
 */
export async function injectFaults(
  faults: Map<FaultKind, FaultRule>, op: string, req: IncomingMessage, res: ServerResponse, log: Record<string, unknown>, requestLog: Record<string, unknown>[],
  closing?: AbortSignal,
): Promise<boolean> {
  if (faults.has('slow') && !(await sleepUnless(faults.get('slow')!.ms ?? 2000, closing))) {
    // The server is stopping: a request held by `slow` ends here, its connection already cut, and is not run.
    log.fault = 'slow';
    res.destroy();
    return true;
  }
  if (faults.has('drop') && op !== 'GetJobOutput') {
    await dropConnection(req, res, log, requestLog);
    return true;
  }
  for (const [kind, f] of [
    ['500', () => new GlacierError(500, 'ServiceUnavailableException', 'Service is temporarily unavailable. Please try again later.')],
    ['throttle', () => new GlacierError(400, 'ThrottlingException', 'Rate exceeded')],
    ['408', () => new GlacierError(408, 'RequestTimeoutException', 'Request timed out.')],
  ] as const) {
    if (faults.has(kind)) {
      log.fault = kind;
      await drain(req);
      throw f();
    }
  }
  return false;
}

async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  for await (const _ of req) void _;
}

async function dropConnection(req: IncomingMessage, res: ServerResponse, log: Record<string, unknown>, requestLog: Record<string, unknown>[]): Promise<void> {
  log.fault = 'drop';
  log.status = 0;
  log.logged = true;
  requestLog.push(log);
  // Take some of the body first, so the client sees the connection cut mid-request.
  await new Promise<void>((resolve) => {
    let n = 0;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n >= 65536) finish();
    };
    const finish = () => {
      req.off('data', onData);
      resolve();
    };
    req.on('data', onData);
    req.once('end', finish);
    setTimeout(finish, 200);
  });
  res.socket?.destroy();
}
