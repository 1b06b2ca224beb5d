// Job operations of glacier-local: InitiateJob, ListJobs, DescribeJob, GetJobOutput (protocol §8). The jobs
// themselves (delays, completion, inventories, output hashes) live in ../jobs.ts.
import { GlacierError, invalidParam, missingParam } from '../glacier-error.js';
import { empty, header, json, location, page, sleep, vaultOf, type Ctx } from '../context.js';

export async function initiateJob(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  let params: unknown;
  try {
    params = JSON.parse(c.body?.length ? c.body.toString('utf8') : '{}');
  } catch {
    throw new GlacierError(400, 'SerializationException', 'The request body is not valid JSON');
  }
  if (!params || typeof params !== 'object' || Object.keys(params).length === 0) throw missingParam('Required parameter missing: Job Parameters');
  const job = await c.local.jobs.initiate(v, params as never, c.now);
  c.log.jobId = job.id;
  empty(c, 202, { Location: location(c, v.name, 'jobs', job.id), 'x-amz-job-id': job.id });
}

export async function listJobs(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  const jobs = c.local.jobs;
  const status = c.url.searchParams.get('statuscode');
  const completed = c.url.searchParams.get('completed');
  if (status !== null && !['InProgress', 'Succeeded', 'Failed'].includes(status)) throw invalidParam(`The job status code is not valid: ${status}`);
  if (completed !== null && completed !== 'true' && completed !== 'false') throw invalidParam(`The completed value is not valid: ${completed}`);
  const all = (await jobs.list(v, c.now)).filter(
    (j) => (status === null || j.status === status) && (completed === null || String(j.status !== 'InProgress') === completed),
  );
  const { page: got, marker } = page(c, all, (j) => j.id, 50);
  json(c, 200, { JobList: got.map((j) => jobs.describe(v, j)), Marker: marker });
}

export async function describeJob(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  json(c, 200, c.local.jobs.describe(v, await c.local.jobs.get(v, c.route.id!, c.now)));
}

/** GetJobOutput: the whole output or a byte range, with its tree hash where the checksum rule gives one. */
export async function getJobOutput(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  const jobs = c.local.jobs;
  const job = await jobs.get(v, c.route.id!, c.now);
  c.log.jobId = job.id;
  if (job.status !== 'Succeeded') throw invalidParam(`The job is not currently available for download: ${job.id}`);
  const total = job.outputSize!;
  const rangeHeader = header(c.req, 'range');
  let [start, end] = [0, total - 1];
  if (rangeHeader !== undefined) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
    if (!m || (m[1] === '' && m[2] === '')) throw invalidParam(`Invalid range: ${rangeHeader}`);
    if (m[1] === '') [start, end] = [Math.max(0, total - Number(m[2])), total - 1];
    else [start, end] = [Number(m[1]), m[2] === '' ? total - 1 : Math.min(Number(m[2]), total - 1)];
    if (start > end || start >= total) {
      throw new GlacierError(416, 'InvalidParameterValueException', `The requested range is not satisfiable: ${rangeHeader} (output size ${total})`);
    }
    c.log.range = `${start}-${end}`;
  }
  const headers: Record<string, string | number> = {
    'Content-Type': job.action === 'InventoryRetrieval' ? (job.format === 'CSV' ? 'text/csv' : 'application/json') : 'application/octet-stream',
    'Content-Length': end - start + 1,
    'Accept-Ranges': 'bytes',
  };
  if (rangeHeader !== undefined) headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
  const archive = job.archiveId ? v.archives.get(job.archiveId) : undefined;
  if (job.action === 'ArchiveRetrieval' && archive?.description) headers['x-amz-archive-description'] = archive.description;
  const th = jobs.outputTreeHash(job, start, end, c.local.checksumRule);
  if (th) headers['x-amz-sha256-tree-hash'] = th;
  c.res.writeHead(rangeHeader !== undefined ? 206 : 200, headers);
  const body = jobs.read(v, job, start, end);
  const length = end - start + 1;
  const corruptAt = c.faults.has('corrupt') ? Math.floor(length / 2) : -1;
  const dropAt = c.faults.has('drop') ? Math.floor(length / 2) : -1;
  const slowMs = c.faults.has('slow') ? Math.max(1, Math.floor((c.faults.get('slow')!.ms ?? 2000) / 50)) : 0;
  if (corruptAt >= 0) c.log.fault = 'corrupt';
  if (dropAt >= 0) c.log.fault = 'drop';
  let sent = 0;
  try {
    for await (let chunk of body as AsyncIterable<Buffer>) {
      if (corruptAt >= sent && corruptAt < sent + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[corruptAt - sent] ^= 0xff;
      }
      if (dropAt >= 0 && sent + chunk.length > dropAt) {
        c.res.write(chunk.subarray(0, dropAt - sent));
        await sleep(20);
        c.res.destroy();
        return;
      }
      sent += chunk.length;
      if (slowMs) await sleep(slowMs);
      if (!c.res.write(chunk)) {
        await new Promise<void>((res) => {
          const done = () => (c.res.off('drain', done), c.res.off('close', done), res());
          c.res.on('drain', done);
          c.res.on('close', done);
        });
      }
      if (c.res.destroyed) {
        body.destroy();
        return;
      }
    }
    c.res.end();
  } catch {
    c.res.destroy();
  }
}
