// The glacier-restore to S3 tests' common start: moto's S3 server (`python3 -m moto.server`) on a free port of
// 127.0.0.1, a bucket, and a recording proxy in front of it that sees every S3 request the binaries send (and can
// hold one, to kill the client at that instant); with what the tests read from that record.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { until } from './time.js';

/** One S3 request the proxy saw: method, path and query, moto's status and x-amz-checksum-sha256, whether held. */
export interface Seen {
  method: string;
  url: string;
  status?: number;
  checksum?: string;
  held?: boolean;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of moto: logs every request (and moto's status and x-amz-checksum-sha256),
 * and holds the ones `hold` picks: a held ('drop') request is read but never forwarded; a 'mute' one is forwarded
 * (moto acts on it) but its answer never reaches the client.
 */
export class RecordingProxy {
  readonly log: Seen[] = [];
  hold: ((s: Seen) => 'drop' | 'mute' | undefined) | undefined;
  private server = http.createServer((req, res) => this.handle(req, res));
  port = 0;

  constructor(private readonly target: number) {}

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const s: Seen = { method: req.method!, url: req.url! };
    this.log.push(s);
    const how = this.hold?.(s);
    if (how === 'drop') {
      s.held = true;
      req.resume();
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: this.target, method: req.method, path: req.url, headers: req.headers }, (r) => {
      s.status = r.statusCode;
      s.checksum = r.headers['x-amz-checksum-sha256'] as string | undefined;
      if (how === 'mute') {
        s.held = true;
        r.resume();
        return;
      }
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.on('error', () => up.destroy());
    req.pipe(up);
  }
}

/** A TCP port of 127.0.0.1 free a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

export interface Moto {
  proc: ChildProcess;
  /** The proxy in front of moto: the binaries' S3 endpoint (AWS_ENDPOINT_URL_S3). */
  proxy: RecordingProxy;
  /** `http://127.0.0.1:PORT` of the proxy. */
  endpoint: string;
  /** A client of moto itself (not through the proxy), for the test's own reads. */
  s3: S3Client;
  stop(): void;
}

/** Starts moto's S3 server and the proxy in front of it, and creates `bucket` (waits up to 60 s for moto). */
export async function startMoto(bucket: string): Promise<Moto> {
  const port = await freePort();
  const proc = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await until(() => fetch(`http://127.0.0.1:${port}`).then(() => true, () => false), 'moto to answer', 60_000, 100);
  const proxy = new RecordingProxy(port);
  await proxy.listen();
  const s3 = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    proc,
    proxy,
    endpoint: `http://127.0.0.1:${proxy.port}`,
    s3,
    stop: () => {
      proxy.close();
      proc.kill('SIGTERM');
    },
  };
}

/** The part number of an UploadPart request (0 for another request). */
export const partNumber = (s: Seen): number => Number(/[?&]partNumber=(\d+)/.exec(s.url)?.[1] ?? 0);
/** The upload id an UploadPart or CompleteMultipartUpload request names ('' for none). */
export const uploadIdOf = (s: Seen): string => decodeURIComponent(/[?&]uploadId=([^&]+)/.exec(s.url)?.[1] ?? '');
/** Whether the request is an UploadPart. */
export const isPart = (s: Seen): boolean => s.method === 'PUT' && /[?&]partNumber=/.test(s.url);
/** Whether the request is a CreateMultipartUpload. */
export const isCreate = (s: Seen): boolean => s.method === 'POST' && /[?&]uploads(=|&|$)/.test(s.url);

/** S3's composite checksum (base64, without its -N suffix) of an object uploaded in `partSize` parts, from its bytes. */
export function composite(data: Buffer, partSize: number): string {
  const digests: Buffer[] = [];
  for (let off = 0; off < Math.max(1, data.length); off += partSize) digests.push(createHash('sha256').update(data.subarray(off, off + partSize)).digest());
  return createHash('sha256').update(Buffer.concat(digests)).digest('base64');
}

/** The JSON Lines records of a run's stdout, up to its last whole line. */
export function records(out: Buffer | string): Record<string, any>[] {
  const text = out.toString();
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
