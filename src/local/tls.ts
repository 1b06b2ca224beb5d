// TLS material for glacier-local --tls: a self-signed certificate made at start with the openssl program (Node
// cannot issue certificates), valid for localhost, 127.0.0.1, ::1 and the bound host, for two days.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, unlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** Where the certificate is on disk: clients trust it as their CA bundle (AWS_CA_BUNDLE). */
  certPath: string;
}

/**
 * Makes an EC P-256 key and a self-signed certificate in a new folder (0700) under the temporary directory; the
 * key's file is removed once read, the certificate's stays for clients (removed when the server stops).
 * Throws Error when openssl cannot be run (the message says to install it or pass --tls-cert/--tls-key).
 */
export async function selfSignedCertificate(host: string): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'glacier-local-tls-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const names = new Set(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']);
  if (isIP(host)) names.add(`IP:${host}`);
  else if (host) names.add(`DNS:${host}`);
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath,
      '-days', '2', '-subj', '/CN=glacier-local', '-addext', `subjectAltName=${[...names].join(',')}`,
      // A CA flag lets clients that want a CA bundle (AWS_CA_BUNDLE) take the certificate itself as one.
      '-addext', 'basicConstraints=critical,CA:TRUE',
    ]);
  } catch (e) {
    throw new Error(`could not make a certificate with openssl (${(e as Error).message.split('\n')[0]}): install openssl or give --tls-cert and --tls-key`);
  }
  // The private key lives in memory only: its file is gone before the server listens, so a server killed with
  // SIGKILL (no clean-up) leaves only the public certificate in its folder.
  const key = await readFile(keyPath);
  await unlink(keyPath);
  return { key, cert: await readFile(certPath), certPath };
}

/** Reads a PEM key and certificate given by the user. Throws Error naming the file that cannot be read. */
export async function certificateFiles(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const read = async (p: string, what: string) => {
    try {
      return await readFile(p);
    } catch (e) {
      throw new Error(`cannot read the ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  return { cert: await read(certPath, 'certificate'), key: await read(keyPath, 'key'), certPath };
}
