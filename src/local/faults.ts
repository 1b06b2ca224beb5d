// Injected faults, so tests can prove that clients survive a misbehaving service.
// A rule: OP:KIND[:key=value,...], OP an operation name (UploadMultipartPart, GetJobOutput, ...) or `*`.
//   KIND  500       ServiceUnavailableException (500)       throttle  ThrottlingException (400)
//         408       RequestTimeoutException (408)           drop      the connection is cut mid-body
//         slow      the answer waits `ms` (default 2000) and a job output trickles out
//         corrupt   one byte of a GetJobOutput body is flipped (its tree-hash header stays right)
//   keys  rate=0.1  fire on that fraction of matching requests (default 1)
//         count=N   fire at most N times, then the rule is spent
//         skip=N    let the first N matching requests through
//         ms=N      delay for `slow`
export type FaultKind = '500' | 'throttle' | '408' | 'drop' | 'slow' | 'corrupt';
const KINDS: FaultKind[] = ['500', 'throttle', '408', 'drop', 'slow', 'corrupt'];

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
      return rule;
    });
}

export function validateRules(rules: unknown): FaultRule[] {
  if (!Array.isArray(rules)) throw new Error('faults must be a list of rules');
  return rules.map((r) => {
    const rule = r as FaultRule;
    if (typeof rule?.op !== 'string' || !KINDS.includes(rule.kind)) throw new Error(`invalid fault rule ${JSON.stringify(r)}`);
    return { ...rule };
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
