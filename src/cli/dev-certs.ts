/**
 * A development CA and node certificates for the mutual-TLS mode, made with the system's `openssl` (Node's
 * crypto cannot sign certificates). Each node's certificate names its id as the subject's common name, which is
 * what the transport binds a peer's identity to, and is good for both ends of a TLS connection (serverAuth and
 * clientAuth) and for the node's HTTPS API on the hosts it lists. Files, in the directory:
 *
 *   ca.pem, ca-key.pem        the CA (kept and reused: run again with new ids to add nodes)
 *   <id>.pem, <id>-key.pem    each node's certificate and key
 *
 * Keys are written readable by their owner only. This is for development and tests: a production cluster
 * should keep its CA key offline.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DevCertificateOptions {
  readonly dir: string;
  readonly nodes: readonly string[];
  /** Host names and addresses the nodes' HTTPS APIs answer on, beyond localhost, 127.0.0.1 and ::1. */
  readonly hosts?: readonly string[];
  /** How long the certificates are valid. Default 365 days. */
  readonly days?: number;
}

export interface DevCertificates {
  readonly ca: string;
  /** Whether the CA was made now (rather than found in the directory and reused). */
  readonly newCa: boolean;
  readonly nodes: readonly { readonly id: string; readonly cert: string; readonly key: string }[];
}

/** The files of node `id` in a directory made by `makeDevCertificates`. */
export function certificateFiles(dir: string, id: string): { cert: string; key: string; ca: string } {
  return { cert: join(dir, `${id}.pem`), key: join(dir, `${id}-key.pem`), ca: join(dir, 'ca.pem') };
}

/** Node ids that go into a certificate subject as they are. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Raised when `openssl` cannot be run at all. */
export class OpensslMissingError extends Error {
  override readonly name = 'OpensslMissingError';
}

export async function makeDevCertificates(options: DevCertificateOptions): Promise<DevCertificates> {
  const { dir, nodes, hosts = [], days = 365 } = options;
  if (nodes.length === 0) throw new RangeError('name at least one node');
  for (const id of nodes) {
    if (!SAFE_ID.test(id))
      throw new RangeError(
        `node id ${JSON.stringify(id)}: use letters, digits, '.', '_' and '-' (64 at most)`,
      );
  }
  if (new Set(nodes).size !== nodes.length) throw new RangeError('a node is named twice');
  if (!(Number.isSafeInteger(days) && days > 0)) throw new RangeError('days must be a positive integer');
  await checkOpenssl();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const id of nodes) {
    // The key too: one without its certificate was written over (a node's key lost, silently).
    const { cert, key } = certificateFiles(dir, id);
    for (const file of [cert, key])
      if (await exists(file)) throw new RangeError(`${file} exists: remove it to make a new one`);
  }
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca-key.pem');
  const [haveCa, haveCaKey] = [await exists(ca), await exists(caKey)];
  if (haveCa !== haveCaKey) throw new RangeError(`${dir} holds only one of ca.pem and ca-key.pem`);
  if (!haveCa) {
    await openssl(
      ['req', '-x509', ...newKey(caKey), '-out', ca, '-days', String(days), '-sha256'],
      ['-subj', '/CN=pureraft development CA', '-addext', 'basicConstraints=critical,CA:TRUE'],
      ['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    );
    await chmod(caKey, 0o600);
  }
  const names = [
    'DNS:localhost',
    'IP:127.0.0.1',
    'IP:::1',
    ...hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)),
  ];
  const made = [];
  for (const id of nodes) {
    const { cert, key } = certificateFiles(dir, id);
    const request = join(dir, `${id}.csr`);
    const extensions = join(dir, `${id}.ext`);
    await writeFile(
      extensions,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth,clientAuth',
        `subjectAltName=${[...new Set(names)].join(',')}`,
      ].join('\n'),
    );
    try {
      await openssl(['req', '-new', ...newKey(key), '-out', request, '-subj', `/CN=${id}`]);
      await chmod(key, 0o600);
      await openssl(
        ['x509', '-req', '-in', request, '-CA', ca, '-CAkey', caKey, '-out', cert],
        ['-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', String(days), '-sha256'],
        ['-extfile', extensions],
      );
    } finally {
      await Promise.all([rm(request, { force: true }), rm(extensions, { force: true })]);
    }
    made.push({ id, cert, key });
  }
  return { ca, newCa: !haveCa, nodes: made };
}

/** The arguments that make a new P-256 key, unencrypted, into `keyFile`. */
function newKey(keyFile: string): string[] {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile];
}

async function checkOpenssl(): Promise<void> {
  try {
    await run('openssl', ['version']);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message;
    throw new OpensslMissingError(
      `this needs the openssl command (OpenSSL 1.1.1 or later), ${reason}: install it (apt install openssl, ` +
        'brew install openssl, ...), or make a CA and node certificates another way (see the README)',
    );
  }
}

async function openssl(...parts: readonly string[][]): Promise<void> {
  const args = parts.flat();
  try {
    await run('openssl', args);
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${stderr?.trim() || (error as Error).message}`);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
