import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { requireTool, runCommand } from './process.js';

export interface TlsFixtures {
  /** PEM certificate of the test CA that signed the server and client certificates. */
  caCertPath: string;
  /** Server certificate for 127.0.0.1 and localhost. */
  serverCertPath: string;
  serverKeyPath: string;
  /** Client certificate (extended key usage clientAuth) signed by the same CA. */
  clientCertPath: string;
  clientKeyPath: string;
}

const VALID_DAYS = '2';
const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

function selfSignedCertificate(
  certPath: string,
  keyPath: string,
  subject: string,
): Promise<unknown> {
  const args = ['req', '-x509', ...CURVE, '-nodes', '-keyout', keyPath, '-out', certPath];
  return runCommand('openssl', [...args, '-days', VALID_DAYS, '-subj', subject]);
}

/** Creates a test CA with `openssl` and uses it to sign a server and a client certificate in `dir`. */
export async function makeTlsFixtures(dir: string): Promise<TlsFixtures> {
  requireTool('openssl', 'openssl');
  const path = (name: string): string => join(dir, name);
  await selfSignedCertificate(path('ca.crt'), path('ca.key'), '/CN=kiln-test-ca');
  await signedCertificate(dir, 'server', '/CN=127.0.0.1', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'extendedKeyUsage=serverAuth',
  ]);
  await signedCertificate(dir, 'client', '/CN=kiln-test-client', ['extendedKeyUsage=clientAuth']);
  return {
    caCertPath: path('ca.crt'),
    serverCertPath: path('server.crt'),
    serverKeyPath: path('server.key'),
    clientCertPath: path('client.crt'),
    clientKeyPath: path('client.key'),
  };
}

async function signedCertificate(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
): Promise<void> {
  const path = (suffix: string): string => join(dir, `${name}.${suffix}`);
  await writeFile(path('ext'), `${extensions.join('\n')}\n`);
  await runCommand('openssl', [
    'req',
    ...CURVE,
    '-nodes',
    '-keyout',
    path('key'),
    '-out',
    path('csr'),
    '-subj',
    subject,
  ]);
  await runCommand('openssl', [
    'x509',
    '-req',
    '-in',
    path('csr'),
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-out',
    path('crt'),
    '-days',
    VALID_DAYS,
    '-extfile',
    path('ext'),
  ]);
}

/** Creates a self-signed key pair for signing registry tokens; returns the PEM paths. */
export async function makeTokenSigningKey(
  dir: string,
): Promise<{ certPath: string; keyPath: string }> {
  requireTool('openssl', 'openssl');
  const certPath = join(dir, 'token-signer.crt');
  const keyPath = join(dir, 'token-signer.key');
  await selfSignedCertificate(certPath, keyPath, '/CN=kiln-test-token-signer');
  return { certPath, keyPath };
}
