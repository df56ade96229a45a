/** Network addresses as the service writes them: `host:port`, or `[v6 host]:port`. */

export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Where a node can be reached: its Raft port (peers only) and its HTTP API. */
export interface Member {
  readonly raft: Address;
  readonly http: Address;
}

export function formatAddress({ host, port }: Address): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `host:port` or `[v6 host]:port`; undefined for anything else (the caller names what was wrong). A host is a
 * name or an address in ASCII letters, digits, `.`, `-` and `_` (and `:` and a `%zone` in brackets): addresses
 * go into headers (a redirect's Location) and logs, where a control character would break them.
 */
export function parseHostPort(text: string): Address | undefined {
  const match = /^(?:\[([\w.:%-]+)\]|([\w.-]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port < 1 || port > 65_535) return undefined;
  return { host: (match[1] ?? match[2])!, port };
}

/** Why `text` is not a `host:port` address, or undefined when it is one. */
export function whyBadAddress(text: unknown, what: string): string | undefined {
  if (typeof text === 'string' && parseHostPort(text) !== undefined) return undefined;
  return `${what} must be host:port with a port from 1 to 65535, got ${JSON.stringify(text)}`;
}
