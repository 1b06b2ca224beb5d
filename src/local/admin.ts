// glacier-local's admin API under /_local/, for tests and demos: counters and the request log, faults,
// settings, forcing jobs to finish, ageing uploads. Served only with --admin, and reached only once the request's
// SigV4 signature (the server's own key pair, service glacier) checked out (server.ts). A body must be JSON sent
// as such: a browser's cross-site form or text/plain POST is refused before anything is parsed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseFaultSpec, validateRules } from './faults.js';
import { header } from './context.js';
import { GlacierError } from './glacier-error.js';
import { answerFor } from './guard.js';
import { fillVault } from './inventory.js';
import { TIERS, type Tier } from './jobs.js';
import type { GlacierLocal } from './server.js';

/** Why a PUT /_local/config body is refused, or undefined when every setting in it is valid. */
export function configError(input: Record<string, unknown>): string | undefined {
  for (const k of Object.keys(input)) if (!['pageSize', 'jobDelays', 'checksumRule'].includes(k)) return `unknown setting "${k}": pageSize, jobDelays or checksumRule`;
  const ps = input.pageSize;
  // 0 or a fraction would send clients paging forever.
  if (ps !== undefined && ps !== null && !(Number.isInteger(ps) && (ps as number) >= 1 && (ps as number) <= 1000)) return `invalid pageSize ${JSON.stringify(ps)}: an integer from 1 to 1000, or null for the service's`;
  const jd = input.jobDelays;
  if (jd !== undefined) {
    if (!jd || typeof jd !== 'object' || Array.isArray(jd)) return 'jobDelays must be an object of tier: milliseconds';
    for (const [t, ms] of Object.entries(jd)) {
      if (!TIERS.includes(t as Tier)) return `invalid tier "${t}" in jobDelays: Expedited, Standard or Bulk`;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return `invalid delay ${JSON.stringify(ms)} for ${t}: milliseconds, 0 or more`;
    }
  }
  if (input.checksumRule !== undefined && input.checksumRule !== 'tree' && input.checksumRule !== 'megabyte') return `invalid checksumRule ${JSON.stringify(input.checksumRule)}: tree or megabyte`;
  return undefined;
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
      const bad = configError(input);
      if (bad) return send(400, { code: 'BadRequest', message: bad });
      if (input.pageSize !== undefined) local.pageSize = input.pageSize === null ? undefined : input.pageSize;
      if (input.jobDelays) local.delays = { ...local.delays, ...input.jobDelays };
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
