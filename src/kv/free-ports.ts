/** Ports for local clusters: nodes started as processes need theirs before they listen. */
import { randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:net';

/**
 * `count` ports free on 127.0.0.1 now, for processes that will listen on them a little later. Picked below the
 * kernel's ephemeral range (32768 and up on Linux), where outgoing connections take their source ports: a port
 * the system handed out for port 0 is soon someone's source port again, and the node that wanted it fails with
 * EADDRINUSE. Each is checked by listening on it; random, so that parallel test files rarely try the same one.
 */
export async function freePorts(count: number): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let tries = 0; held.length < count; tries++) {
      if (tries > 1_000)
        throw new Error(`no ${count} free ports found in ${FREE_PORT_LOW}..${FREE_PORT_HIGH}`);
      const port = FREE_PORT_LOW + randomInt(FREE_PORT_HIGH - FREE_PORT_LOW);
      const server = await listening(port);
      if (server !== undefined) held.push(server);
    }
    return held.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

const FREE_PORT_LOW = 20_000;
const FREE_PORT_HIGH = 32_000;

/** A server listening on `port` of 127.0.0.1, or undefined if it is taken. */
function listening(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
