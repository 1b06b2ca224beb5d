// glacier-local's admin API under /_local/, for tests and demos: counters and the request log, faults,
// settings, forcing jobs to finish, ageing uploads. Served only with --admin, and reached only once the request's
// SigV4 signature (the server's own key pair, service glacier) checked out (server.ts). A body must be JSON sent
// as such: a browser's cross-site form or text/plain POST is refused before anything is parsed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseFaultSpec, validateRules } from './faults.js';
import { header } from './context.js';
import { DURATION_FORMS, parseDuration } from '../core/units.js';
import { GlacierError } from './glacier-error.js';
import { answerFor } from './guard.js';
import { fillVault } from './inventory.js';
import { TIERS, type Tier } from './jobs.js';
import type { GlacierLocal } from './server.js';

/** A job delay in an admin body: a duration as --job-delay takes it ("2s", "500ms", 0), or milliseconds (a number). */
function delayMs(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : NaN;
  return typeof v === 'string' ? parseDuration(v) : NaN;
}

/**
 * A PUT /_local/config body checked and its job delays read: `jobDelay` is a --job-delay SPEC (one duration for
 * every tier, or TIER=DURATION,...; tiers it does not name keep their delay), `jobDelays` an object of tier:
 * duration ("2s") or milliseconds (a number, as before durations were taken). Returns the message naming what is
 * wrong, or the delays to set (ms, by tier; applied after `jobDelay`).
 */
export function readConfig(input: Record<string, unknown>): { error: string } | { delays: Partial<Record<Tier, number>> } {
  const settings = ['pageSize', 'jobDelay', 'jobDelays', 'checksumRule'];
  for (const k of Object.keys(input)) if (!settings.includes(k)) return { error: `unknown setting "${k}": pageSize, jobDelay, jobDelays or checksumRule` };
  const ps = input.pageSize;
  // 0 or a fraction would send clients paging forever.
  if (ps !== undefined && ps !== null && !(Number.isInteger(ps) && (ps as number) >= 1 && (ps as number) <= 1000)) return { error: `invalid pageSize ${JSON.stringify(ps)}: an integer from 1 to 1000, or null for the service's` };
  const delays: Partial<Record<Tier, number>> = {};
  const jd1 = input.jobDelay;
  if (jd1 !== undefined) {
    if (typeof jd1 !== 'string' && typeof jd1 !== 'number') return { error: `invalid jobDelay ${JSON.stringify(jd1)}: a --job-delay SPEC such as "2s" or "Standard=2s,Bulk=1h"` };
    for (const item of String(jd1).split(',')) {
      const [tier, value] = item.includes('=') ? item.split('=') : [null, item];
      if (tier !== null && !TIERS.includes(tier as Tier)) return { error: `invalid tier "${tier}" in jobDelay: Expedited, Standard or Bulk` };
      const ms = typeof jd1 === 'number' ? delayMs(jd1) : delayMs(value);
      if (!Number.isFinite(ms)) return { error: `invalid job delay "${item}" in jobDelay: ${DURATION_FORMS}, or milliseconds as a JSON number` };
      for (const t of tier === null ? TIERS : [tier as Tier]) delays[t] = ms;
    }
  }
  const jd = input.jobDelays;
  if (jd !== undefined) {
    if (!jd || typeof jd !== 'object' || Array.isArray(jd)) return { error: 'jobDelays must be an object of tier: duration ("2s") or milliseconds' };
    for (const [t, v] of Object.entries(jd)) {
      if (!TIERS.includes(t as Tier)) return { error: `invalid tier "${t}" in jobDelays: Expedited, Standard or Bulk` };
      const ms = delayMs(v);
      if (!Number.isFinite(ms)) return { error: `invalid delay ${JSON.stringify(v)} for ${t}: ${DURATION_FORMS}, or milliseconds as a JSON number, 0 or more` };
      delays[t as Tier] = ms;
    }
  }
  if (input.checksumRule !== undefined && input.checksumRule !== 'tree' && input.checksumRule !== 'megabyte') return { error: `invalid checksumRule ${JSON.stringify(input.checksumRule)}: tree or megabyte` };
  return { delays };
}

/**
 * Serves one authenticated admin request whose `body` was read by the caller; answers JSON: 404 for an unknown
 * route, 415 for a body not sent as application/json, 400 for a bad body or setting.
 */
export async function admin(local: GlacierLocal, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
  const send = (status: number, value: unknown) => {
    const payload = JSON.stringify(value);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
    res.end(payload);
  };
  try {
    const type = (header(req, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (body.length && type !== 'application/json') return send(415, { code: 'UnsupportedMediaType', message: 'admin request bodies are JSON: send Content-Type: application/json' });
    const input = body.length ? JSON.parse(body.toString('utf8')) : {};
    if (!input || typeof input !== 'object' || Array.isArray(input)) return send(400, { code: 'BadRequest', message: 'the body must be a JSON object' });
    const p = url.pathname.slice('/_local/'.length).split('/');
    const m = req.method;
    if (p[0] === 'health') return send(200, { ok: true });
    if (p[0] === 'counters' && m === 'GET') return send(200, { requests: local.counters, faults: local.faults.fired });
    if (p[0] === 'counters' && m === 'DELETE') {
      for (const k of Object.keys(local.counters)) delete local.counters[k];
      for (const k of Object.keys(local.faults.fired)) delete local.faults.fired[k];
      local.requestLog.length = 0;
      return send(200, { ok: true });
    }
    if (p[0] === 'requests' && m === 'GET') return send(200, local.requestLog);
    if (p[0] === 'faults') {
      if (m === 'GET') return send(200, local.faults.list());
      if (m === 'DELETE') return local.faults.set([]), send(200, []);
      const rules = typeof input.spec === 'string' ? parseFaultSpec(input.spec) : validateRules(input.rules ?? input);
      if (m === 'PUT') local.faults.set(rules);
      else local.faults.add(rules);
      return send(200, local.faults.list());
    }
    if (p[0] === 'config' && m === 'PUT') {
      const config = readConfig(input);
      if ('error' in config) return send(400, { code: 'BadRequest', message: config.error });
      if (input.pageSize !== undefined) local.pageSize = input.pageSize === null ? undefined : input.pageSize;
      local.delays = { ...local.delays, ...config.delays };
      if (input.checksumRule) local.checksumRule = input.checksumRule;
      return send(200, { pageSize: local.pageSize ?? null, jobDelays: local.delays, checksumRule: local.checksumRule });
    }
    if (p[0] === 'fill' && m === 'POST') return send(200, await fillVault(local.store, input, local.now()));
    if (p[0] === 'snapshot' && m === 'POST') {
      if (local.inventories.mode !== 'snapshot') return send(400, { code: 'BadRequest', message: 'snapshots need --inventory snapshot' });
      return send(200, local.inventories.snapshot(local.store.listAllVaults(), local.now()));
    }
    if (p[0] === 'jobs' && p[1] && (p[2] === 'complete' || p[2] === 'fail') && m === 'POST') {
      for (const v of local.store.listAllVaults()) {
        const job = v.jobs.get(p[1]);
        if (job) {
          await local.jobs.finish(v, job, p[2] === 'complete', input.message, local.now());
          return send(200, local.jobs.describe(v, job));
        }
      }
      return send(404, { code: 'ResourceNotFoundException', message: `The job ID was not found: ${p[1]}` });
    }
    if (p[0] === 'uploads' && p[1] && p[2] === 'age' && m === 'POST') {
      for (const v of local.store.listAllVaults()) {
        const u = v.uploads.get(p[1]);
        if (u) {
          u.creationDate = new Date(local.now() - Number(input.seconds ?? 0) * 1000).toISOString();
          await local.store.saveUpload(u);
          return send(200, { MultipartUploadId: u.id, CreationDate: u.creationDate });
        }
      }
      return send(404, { code: 'ResourceNotFoundException', message: `The upload ID was not found: ${p[1]}` });
    }
    return send(404, { code: 'NotFound', message: `no admin route ${m} ${url.pathname}` });
  } catch (e) {
    // A bad body or fault spec is the caller's (400, its message); a failure of the server's own (an fs error)
    // is answered without details, as on the vault API.
    if (e instanceof GlacierError || (e as NodeJS.ErrnoException).code) {
      const { err } = answerFor(e);
      return send(err.status, { code: err.code, message: err.message });
    }
    return send(400, { code: 'BadRequest', message: (e as Error).message });
  }
}
