/** `pureraft certs`: a development CA and node certificates for mutual TLS and HTTPS (see dev-certs.ts). */
import { relative } from 'node:path';
import { makeDevCertificates, OpensslMissingError } from './dev-certs.js';
import { type CommandSpec, defineCommand, type Flag, UsageError } from './flags.js';

const spec = {
  name: 'certs',
  summary: 'make a development CA and node certificates (with openssl) for mutual TLS and HTTPS',
  synopsis: '--dir <dir> --nodes <id,id,...> [flags]',
  details: `
Writes a CA (ca.pem, ca-key.pem) and, for each node, a certificate naming its id (<id>.pem, <id>-key.pem) into
--dir. A CA already in the directory is reused, so running it again with new ids adds nodes to the cluster.
Then: pureraft cluster --tls-dir <dir>, or pureraft node --tls-dir <dir> on each machine (it needs ca.pem and
its own two files only; keep ca-key.pem elsewhere). Needs the openssl command.

Example:
  pureraft certs --dir .certs --nodes n1,n2,n3
  pureraft certs --dir .certs --nodes n4 --hosts 10.0.0.4,db4.example.org`,
  positionals: 0,
  flags: {
    dir: { type: 'string', placeholder: 'dir', description: 'Where to write the files.' },
    nodes: { type: 'string', placeholder: 'id,id,...', description: 'The node ids, comma-separated.' },
    hosts: {
      type: 'string',
      placeholder: 'host,host,...',
      description: 'Names and addresses the HTTPS API answers on, beyond localhost and loopback.',
    },
    days: { type: 'integer', description: 'How long the certificates are valid. Default 365.' },
  },
} as const satisfies CommandSpec<Readonly<Record<string, Flag>>>;

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

export const certsCommand = defineCommand(spec, async (flags, _positionals, usage) => {
  if (flags.dir === undefined) throw new UsageError('missing --dir', usage);
  const nodes = list(flags.nodes);
  if (nodes.length === 0) throw new UsageError('missing --nodes: name at least one node', usage);
  try {
    const made = await makeDevCertificates({
      dir: flags.dir,
      nodes,
      hosts: list(flags.hosts),
      ...(flags.days !== undefined && { days: flags.days }),
    });
    const show = (path: string) =>
      relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path);
    const lines = [
      `${made.newCa ? 'made the CA' : 'reused the CA'} ${show(made.ca)} (its key: keep it private)`,
      ...made.nodes.map(({ id, cert, key }) => `  ${id}: ${show(cert)}, ${show(key)}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message, usage);
    if (error instanceof OpensslMissingError) {
      process.stderr.write(`pureraft certs: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
});
