// glacier-local's admin API under /_local/, for tests and demos: counters and the request log, faults,
// settings, forcing jobs to finish, ageing uploads. Unauthenticated: glacier-local binds loopback unless told
// otherwise.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseFaultSpec, validateRules } from './faults.js';
import { readSmallBody } from './context.js';
import { fillVault } from './inventory.js';
import type { GlacierLocal } from './server.js';

/** Serves one admin request; answers JSON, 404 for an unknown route, 400 for a bad body. */
export async function admin(local: GlacierLocal, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const send = (status: number, value: unknown) => {
    const payload = JSON.stringify(value);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
    res.end(payload);
  };
  try {
    const body = await readSmallBody(req);
    const input = body.length ? JSON.parse(body.toString('utf8')) : {};
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
      if (input.pageSize !== undefined) local.pageSize = input.pageSize === null ? undefined : Number(input.pageSize);
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
    return send(400, { code: 'BadRequest', message: (e as Error).message });
  }
}
