/** Command lines for tests of the `pureraft` command. */

/** `pureraft node` for node n1 on loopback (ports 1 and 2: a test that needs the node to run picks free ones). */
export function localNodeArgs(...flags: string[]): string[] {
  return ['node', '--id', 'n1', '--raft', '127.0.0.1:1', '--http', '127.0.0.1:2', '--secret', 's', ...flags];
}
