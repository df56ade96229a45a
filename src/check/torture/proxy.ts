/**
 * A fault-injecting TCP proxy for one direction of one link between two nodes, on loopback: node A's
 * connection to peer B goes to A→B's proxy, which forwards it to B. pureraft's transport sends on its own
 * outbound connection only (one per peer and direction), so cutting the proxy A→B loses exactly the messages
 * from A to B: a one-way fault; cutting both directions partitions the pair.
 *
 * A cut behaves like a network that drops packets, not like a closed port: the connections open at the cut are
 * reset (their streams lose bytes mid-frame, so they cannot be resumed), and new ones are accepted and then
 * swallow everything, so the sender learns nothing until its own timeouts. Healing closes those too, and the
 * transport reconnects through a clean link.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class LinkProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  private constructor(
    server: Server,
    readonly port: number,
  ) {
    this.#server = server;
  }

  /** Listens on 127.0.0.1 (a port the system picks) and forwards to `target` there. */
  static async open(target: number): Promise<LinkProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const proxy = new LinkProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (socket) => proxy.#accept(socket, target));
    return proxy;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  /** Cuts the link (or heals it); open connections are reset either way, since their streams broke. */
  set(cut: boolean): void {
    if (cut === this.#cut) return;
    this.#cut = cut;
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  #accept(inbound: Socket, target: number): void {
    this.#track(inbound);
    if (this.#cut) {
      inbound.resume(); // swallow whatever comes, answer nothing
      return;
    }
    const outbound = createConnection({ host: '127.0.0.1', port: target });
    this.#track(outbound);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.once('close', () => outbound.destroy());
    outbound.once('close', () => inbound.destroy());
  }
}

/**
 * A proxy for every ordered pair of nodes and every port of the second (its Raft port, its HTTP API, ...), and
 * partitions of the links between them. A link is one direction between two nodes: cut, it loses what goes to
 * every one of those ports, as a real network would (a follower cut off from its leader cannot reach the
 * leader's HTTP API either, say for a read index). An HTTP request and its answer both travel on the link of
 * the node that asks.
 */
export class ProxyMesh {
  private constructor(readonly links: ReadonlyMap<string, ReadonlyMap<string, LinkProxy>>) {}

  /** `ports`: each node's real ports by name (`{ raft: 7001, http: 8001 }`). */
  static async open(ports: ReadonlyMap<string, Readonly<Record<string, number>>>): Promise<ProxyMesh> {
    const links = new Map<string, Map<string, LinkProxy>>();
    try {
      for (const from of ports.keys()) {
        for (const [to, named] of ports) {
          if (to === from) continue;
          const proxies = new Map<string, LinkProxy>();
          links.set(linkName(from, to), proxies);
          for (const [name, port] of Object.entries(named)) proxies.set(name, await LinkProxy.open(port));
        }
      }
    } catch (error) {
      // None left listening.
      await closeAll(links);
      throw error;
    }
    return new ProxyMesh(links);
  }

  /** The port node `from` must use to reach `to`'s port named `name`. */
  port(from: string, to: string, name: string): number {
    const proxy = this.#link(from, to).get(name);
    if (proxy === undefined) throw new Error(`no port ${name} on link ${linkName(from, to)}`);
    return proxy.port;
  }

  /** Cuts or heals everything from `from` to `to` (one direction). */
  set(from: string, to: string, cut: boolean): void {
    for (const proxy of this.#link(from, to).values()) proxy.set(cut);
  }

  /** Only nodes in a common group hear each other; a node in two groups bridges them. */
  partition(groups: readonly (readonly string[])[]): void {
    for (const name of this.links.keys()) {
      const [from, to] = name.split('→') as [string, string];
      this.set(from, to, !groups.some((group) => group.includes(from) && group.includes(to)));
    }
  }

  heal(): void {
    for (const proxies of this.links.values()) for (const proxy of proxies.values()) proxy.set(false);
  }

  /** The links cut now, as "a→b" (a link's ports are cut and healed together). */
  get cut(): string[] {
    return [...this.links]
      .filter(([, proxies]) => [...proxies.values()].some((proxy) => proxy.isCut))
      .map(([name]) => name);
  }

  async close(): Promise<void> {
    await closeAll(this.links);
  }

  #link(from: string, to: string): ReadonlyMap<string, LinkProxy> {
    const link = this.links.get(linkName(from, to));
    if (link === undefined) throw new Error(`no link ${linkName(from, to)}`);
    return link;
  }
}

async function closeAll(links: ReadonlyMap<string, ReadonlyMap<string, LinkProxy>>): Promise<void> {
  await Promise.all(
    [...links.values()].flatMap((proxies) => [...proxies.values()].map((proxy) => proxy.close())),
  );
}

const linkName = (from: string, to: string) => `${from}→${to}`;
