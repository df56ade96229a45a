/**
 * How two nodes trust each other over the HTTP API, for the one internal call a node makes there: a follower
 * asking the leader for a read index (read-forwarding.ts). Both directions matter. The leader must know a member
 * asks (a client's bearer token is the client's: a follower serving many clients at once has none of its own).
 * And the follower must know the leader answers: an index from anyone else, a stale one (0, say), would make it
 * serve a stale read as a linearizable one.
 *
 * - With TLS, the certificates, signed by the cluster's CA: the API asks every client for one and takes a
 *   certificate naming a current member as a member's (a client without one is a client as before); the follower
 *   takes only the certificate naming the leader it asked.
 * - With the shared secret, a key derived from it (HMAC-SHA256 of a fixed label) that never crosses the network.
 *   The follower sends a fresh nonce and a MAC of it; the leader answers with a MAC of that nonce, its own id and
 *   the index. So an impostor at the leader's address learns nothing it could answer with, and a recorded answer
 *   does not fit another request. A recorded request can be sent again, and gets the read index: how far the log
 *   is committed, nothing more.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { NodeId } from '../core/index.js';
import { certifiedNodeId } from '../effects/transport/tls.js';

export const MEMBER_HEADER = 'x-pureraft-member';
export const PROOF_HEADER = 'x-pureraft-proof';
const LABEL = 'pureraft member credential v2';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** One read-index request to `leaderId`: what it carries, and the check its answer must pass. */
export interface MemberAsk {
  readonly headers: Readonly<Record<string, string>>;
  /** With TLS: the certificate, key and CA, and the check that the server's certificate names `leaderId`. */
  readonly tls?: TlsMaterial & {
    readonly checkServerIdentity: (host: string, certificate: PeerCertificate) => Error | undefined;
    readonly agent: HttpsAgent;
  };
  /** Whether the answer `index`, with these response headers, came from `leaderId`. */
  readonly vouched: (
    index: number,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ) => boolean;
}

export class MemberCredential {
  readonly #self: NodeId;
  readonly #tls: TlsMaterial | undefined;
  readonly #isMember: (id: NodeId) => boolean;
  readonly #key: Buffer | undefined;
  readonly #agents = new Map<NodeId, HttpsAgent>();

  private constructor(
    self: NodeId,
    tls: TlsMaterial | undefined,
    isMember: (id: NodeId) => boolean,
    key: Buffer | undefined,
  ) {
    this.#self = self;
    this.#tls = tls;
    this.#isMember = isMember;
    this.#key = key;
  }

  /** `isMember`: whether a certificate's node is a member now (a removed node's certificate is still signed). */
  static ofTls(self: NodeId, tls: TlsMaterial, isMember: (id: NodeId) => boolean): MemberCredential {
    return new MemberCredential(self, tls, isMember, undefined);
  }

  static ofSecret(self: NodeId, secret: string): MemberCredential {
    const key = createHmac('sha256', secret).update(LABEL).digest();
    return new MemberCredential(self, undefined, () => true, key);
  }

  /** The scheme of every node's API: HTTPS when the cluster has certificates. */
  get scheme(): 'http' | 'https' {
    return this.#tls === undefined ? 'http' : 'https';
  }

  /** A new read-index request to `leaderId`. */
  ask(leaderId: NodeId): MemberAsk {
    if (this.#tls !== undefined) {
      const checkServerIdentity = (_host: string, certificate: PeerCertificate) => {
        const named = certifiedNodeId(certificate.subject);
        if ('id' in named && named.id === leaderId) return undefined;
        const names = 'id' in named ? `names ${JSON.stringify(named.id)}` : named.problem;
        return new Error(`the certificate at the address of the leader ${leaderId} ${names}`);
      };
      // TLS vouches for the answer: it came from the holder of the certificate checked. A connection is checked
      // once, when it is made: one agent per leader, so that no connection checked for another is used again.
      let agent = this.#agents.get(leaderId);
      if (agent === undefined) {
        agent = new HttpsAgent({ keepAlive: true });
        this.#agents.set(leaderId, agent);
      }
      return { headers: {}, tls: { ...this.#tls, checkServerIdentity, agent }, vouched: () => true };
    }
    const nonce = randomBytes(NONCE_BYTES);
    return {
      headers: { [MEMBER_HEADER]: `${nonce.toString('hex')}.${this.#mac('ask', nonce).toString('hex')}` },
      vouched: (index, headers) => {
        const proof = hexOf(headers[PROOF_HEADER], MAC_BYTES);
        return proof !== undefined && timingSafeEqual(proof, this.#mac('answer', nonce, leaderId, index));
      },
    };
  }

  /** Whether `request` came from a member. */
  isMember(request: IncomingMessage): boolean {
    if (this.#tls !== undefined) return this.#certifiedMember(request.socket as Partial<TLSSocket>);
    return this.#nonceOf(request) !== undefined;
  }

  /** The headers that prove to the member that sent `request` that this node answered `index`. */
  vouch(request: IncomingMessage, index: number): Record<string, string> {
    const nonce = this.#tls === undefined ? this.#nonceOf(request) : undefined;
    if (nonce === undefined) return {};
    return { [PROOF_HEADER]: this.#mac('answer', nonce, this.#self, index).toString('hex') };
  }

  /** The nonce of a request whose member header is well-formed and its MAC right. */
  #nonceOf(request: IncomingMessage): Buffer | undefined {
    const sent = request.headers[MEMBER_HEADER];
    const [nonceHex, macHex, ...rest] = typeof sent === 'string' ? sent.split('.') : [];
    const nonce = hexOf(nonceHex, NONCE_BYTES);
    const mac = hexOf(macHex, MAC_BYTES);
    if (nonce === undefined || mac === undefined || rest.length > 0) return undefined;
    return timingSafeEqual(mac, this.#mac('ask', nonce)) ? nonce : undefined;
  }

  #mac(purpose: 'ask' | 'answer', nonce: Buffer, id?: NodeId, index?: number): Buffer {
    // The nonce has a fixed length and the index, last, no NUL: the bytes split into their parts one way only.
    const hmac = createHmac('sha256', this.#key!).update(`${purpose}\0`).update(nonce);
    if (id !== undefined) hmac.update(`\0${id}\0${index}`);
    return hmac.digest();
  }

  /**
   * Whether the client presented a certificate the cluster's CA signed, naming a current member. `authorized`
   * alone is not enough: Node reports a resumed TLS 1.3 session as authorized even when the handshake it resumes
   * carried no certificate (it takes the resumption for a pre-shared key), so any client that connected once
   * without a certificate, and resumed its session, passed. A session that carried a certificate keeps it.
   */
  #certifiedMember(socket: Partial<TLSSocket>): boolean {
    if (socket.authorized !== true || socket.getPeerCertificate === undefined) return false;
    const named = certifiedNodeId(socket.getPeerCertificate().subject);
    return 'id' in named && this.#isMember(named.id);
  }
}

const NONCE_BYTES = 16;
const MAC_BYTES = 32;

/** `text` as bytes when it is exactly `bytes` bytes of lowercase hex. */
function hexOf(text: unknown, bytes: number): Buffer | undefined {
  if (typeof text !== 'string' || text.length !== bytes * 2 || !/^[0-9a-f]+$/.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}
