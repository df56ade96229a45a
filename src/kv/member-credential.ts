/**
 * How one node proves to another's HTTP API that it is a member of the cluster, for the one internal call a
 * node makes there (a follower asking the leader for a read index, read-forwarding.ts). A client's bearer token
 * is the client's: a follower serving many clients at once (shared reads) has none of its own to pass on.
 *
 * - With TLS, the node's own certificate, signed by the cluster's CA: the API asks every client for a
 *   certificate and takes one the CA signed as a member's (a client without one is a client as before).
 * - With the shared secret, a header carrying a key derived from it (HMAC-SHA256 of a fixed label), compared
 *   in constant time. Without HTTPS it crosses the network in clear, as the API's tokens do; it grants only
 *   the internal read index, which tells nothing but how far the log is committed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { certifiedNodeId } from '../effects/transport/tls.js';

export const MEMBER_HEADER = 'x-pureraft-member';
const LABEL = 'pureraft member credential v1';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export class MemberCredential {
  readonly #tls: TlsMaterial | undefined;
  readonly #key: Buffer | undefined;

  private constructor(tls: TlsMaterial | undefined, key: Buffer | undefined) {
    this.#tls = tls;
    this.#key = key;
  }

  static ofTls(tls: TlsMaterial): MemberCredential {
    return new MemberCredential(tls, undefined);
  }

  static ofSecret(secret: string): MemberCredential {
    return new MemberCredential(undefined, createHmac('sha256', secret).update(LABEL).digest());
  }

  /** The scheme of every node's API: HTTPS when the cluster has certificates. */
  get scheme(): 'http' | 'https' {
    return this.#tls === undefined ? 'http' : 'https';
  }

  /** What a request to another node carries: headers, and TLS options (certificate, key, the CA to trust). */
  get request(): { headers: Record<string, string>; tls?: TlsMaterial } {
    if (this.#tls !== undefined) return { headers: {}, tls: this.#tls };
    return { headers: { [MEMBER_HEADER]: this.#key!.toString('hex') } };
  }

  /** Whether `request` came from a member. */
  isMember(request: IncomingMessage): boolean {
    if (this.#tls !== undefined) return presentedMemberCertificate(request.socket as Partial<TLSSocket>);
    const sent = request.headers[MEMBER_HEADER];
    if (typeof sent !== 'string' || !/^[0-9a-f]{64}$/.test(sent)) return false;
    return timingSafeEqual(Buffer.from(sent, 'hex'), this.#key!);
  }
}

/**
 * Whether the client presented a certificate the cluster's CA signed, naming a node. `authorized` alone is not
 * enough: Node reports a resumed TLS 1.3 session as authorized even when the handshake it resumes carried no
 * certificate (it takes the resumption for a pre-shared key), so any client that connected once without a
 * certificate, and resumed its session, passed. A session that carried a certificate keeps it on resumption.
 */
function presentedMemberCertificate(socket: Partial<TLSSocket>): boolean {
  if (socket.authorized !== true || socket.getPeerCertificate === undefined) return false;
  return 'id' in certifiedNodeId(socket.getPeerCertificate().subject);
}
