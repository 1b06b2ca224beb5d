// A SigV4-signed request to glacier-local over a bare node:http socket, so a test controls how (and whether)
// the body arrives: stalled, trickled, or cut off by a server crash. The SDK always sends whole bodies.
import http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/core/protocols';
import { Sha256 } from '@aws-crypto/sha256-js';
import { hashBoth } from '../../src/core/tree-hash.js';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY } from './local.js';

export interface OpenRequest {
  req: http.ClientRequest;
  /** Settles with the response (status, headers, body) or the socket error once the exchange ends. */
  done: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string } | { error: NodeJS.ErrnoException }>;
}

/**
 * Signs an upload (UploadArchive or UploadMultipartPart) of `body` and opens it without sending any body bytes:
 * the caller writes them with `req.write` at its own pace.
 */
export async function openSignedUpload(endpoint: string, method: 'POST' | 'PUT', path: string, body: Buffer, extra: Record<string, string> = {}): Promise<OpenRequest> {
  const url = new URL(endpoint);
  const { treeHash, sha256 } = hashBoth(body);
  const signer = new SignatureV4({ service: 'glacier', region: REGION, sha256: Sha256, credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY } });
  const signed = await signer.sign(
    new HttpRequest({
      method, protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path,
      headers: {
        host: url.host, 'content-length': String(body.length), 'x-amz-glacier-version': '2012-06-01',
        'x-amz-content-sha256': sha256, 'x-amz-sha256-tree-hash': treeHash, ...extra,
      },
    }),
  );
  const req = http.request({ host: url.hostname, port: Number(url.port), method, path, headers: signed.headers, agent: false });
  const done = new Promise<Awaited<OpenRequest['done']>>((resolve) => {
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    });
  });
  req.flushHeaders();
  return { req, done };
}
