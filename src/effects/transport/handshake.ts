/**
 * Mutual authentication of a new connection, as two small state machines that turn received handshake frames
 * into frames to send; the socket code only moves bytes.
 *
 *   acceptor → connector  Hello:   version, acceptor nonce (32 bytes), acceptor id
 *   connector → acceptor  Auth:    connector id, purpose, connector nonce,
 *                                  HMAC(key, "connector", acceptor nonce, ids, purpose)
 *   acceptor → connector  Welcome: HMAC(key, "acceptor", connector nonce, ids, purpose)
 *
 * Each side proves knowledge of the key over a nonce the other chose just now, so a recorded handshake
 * cannot be replayed; the role label keeps one side's proof from being reflected back as the other's; and the
 * connector checks the acceptor's id, so a stale address never receives messages meant for another node. The
 * purpose (what the connection will carry) is under the proof, so nobody on the path can change it.
 *
 * The key is the cluster's shared secret, and then every later frame is sealed with keys derived from it and
 * both nonces (sealing.ts). Under mutual TLS it is keying material exported from the TLS session, which binds
 * the handshake to that session, and each side's claimed id must be the one its certificate names (tls.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../../core/index.js';
import { ByteReader, ByteWriter, DecodeError } from '../binary.js';
import { checkNodeId, describeError, MAX_NODE_ID_BYTES } from './codec.js';
import { type SessionKeys, sessionKeys } from './sealing.js';

/** 3: frames after the handshake are sealed (shared secret) or carried by TLS. */
export const PROTOCOL_VERSION = 3;
const NONCE_BYTES = 32;
const PROOF_BYTES = 32;

/**
 * What an authenticated connection carries: Raft messages, or one snapshot transfer (see snapshot-wire.ts).
 * Snapshots travel on connections of their own so that no message ever waits behind their data.
 */
export type ConnectionPurpose = 'messages' | 'snapshot';

const purposes: readonly ConnectionPurpose[] = ['messages', 'snapshot'];

/** What one connection's handshake is keyed with and checks: see PeerSecurity (security.ts). */
export interface HandshakeCredentials {
  /** The key both ends prove they hold. Asked for when the first handshake frame arrives, not before. */
  secret(): Uint8Array;
  /** The node id the peer's certificate names, which the peer must claim; undefined without certificates. */
  certifiedPeer(): NodeId | undefined;
  /** Whether the frames after the handshake are sealed (sealing.ts); TLS protects them by itself. */
  readonly sealFrames: boolean;
}

/** Credentials of the shared-secret mode. */
export function secretCredentials(secret: Uint8Array): HandshakeCredentials {
  return { secret: () => secret, certifiedPeer: () => undefined, sealFrames: true };
}

/** Handshake frames are a few hundred bytes: an unauthenticated peer may make us buffer no more than this. */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024;

export type HandshakeOutcome =
  /** Send `reply` and wait for the next frame. */
  | { readonly kind: 'continue'; readonly reply: Uint8Array }
  /**
   * The peer proved it holds the key; send `reply` if present, then the connection carries what it was opened
   * for, sealed with `keys` when the credentials seal frames.
   */
  | {
      readonly kind: 'authenticated';
      readonly peerId: NodeId;
      readonly purpose: ConnectionPurpose;
      readonly reply?: Uint8Array;
      readonly keys?: SessionKeys;
    }
  | { readonly kind: 'failed'; readonly reason: string };

export class AcceptorHandshake {
  private readonly nonce = randomBytes(NONCE_BYTES);
  /** The first frame of the handshake, to send as soon as the connection is accepted. */
  readonly hello: Uint8Array;

  constructor(
    private readonly ownId: NodeId,
    private readonly credentials: HandshakeCredentials,
  ) {
    this.hello = new ByteWriter().u8(PROTOCOL_VERSION).bytes(this.nonce).string(ownId).finish();
  }

  /** Handles the connector's Auth frame. */
  receive(payload: Uint8Array): HandshakeOutcome {
    let auth: { connectorId: NodeId; purpose: ConnectionPurpose; nonce: Uint8Array; proof: Uint8Array };
    try {
      const reader = new ByteReader(payload);
      auth = {
        connectorId: readNodeId(reader),
        purpose: readPurpose(reader),
        nonce: readFixed(reader, NONCE_BYTES),
        proof: readFixed(reader, PROOF_BYTES),
      };
      reader.end();
    } catch (error) {
      return { kind: 'failed', reason: `malformed auth frame: ${describeError(error)}` };
    }
    if (auth.connectorId === this.ownId)
      return { kind: 'failed', reason: 'connector claims to be this node' };
    const { connectorId, purpose } = auth;
    const mismatch = certificateMismatch(this.credentials, 'a connector', connectorId);
    if (mismatch !== undefined) return mismatch;
    const secret = this.credentials.secret();
    const expected = proof(secret, 'connector', this.nonce, connectorId, this.ownId, purpose);
    if (!timingSafeEqual(expected, auth.proof)) {
      return {
        kind: 'failed',
        reason: `wrong secret from a connector claiming to be ${JSON.stringify(auth.connectorId)}`,
      };
    }
    const welcome = proof(secret, 'acceptor', auth.nonce, this.ownId, connectorId, purpose);
    const transcript = {
      acceptorNonce: this.nonce,
      connectorNonce: auth.nonce,
      acceptorId: this.ownId,
      connectorId,
      purpose,
    };
    const keys = keysFor(this.credentials, secret, transcript, 'acceptor');
    return { kind: 'authenticated', peerId: connectorId, purpose, reply: welcome, ...keys };
  }
}

export class ConnectorHandshake {
  private readonly nonce = randomBytes(NONCE_BYTES);
  private phase: 'awaitHello' | 'awaitWelcome' = 'awaitHello';
  private acceptorNonce: Uint8Array | undefined;

  constructor(
    private readonly ownId: NodeId,
    private readonly peerId: NodeId,
    private readonly credentials: HandshakeCredentials,
    private readonly purpose: ConnectionPurpose,
  ) {}

  /** Handles the acceptor's Hello, then its Welcome. */
  receive(payload: Uint8Array): HandshakeOutcome {
    return this.phase === 'awaitHello' ? this.receiveHello(payload) : this.receiveWelcome(payload);
  }

  private receiveHello(payload: Uint8Array): HandshakeOutcome {
    let hello: { nonce: Uint8Array; acceptorId: NodeId };
    try {
      const reader = new ByteReader(payload);
      const version = reader.u8();
      if (version !== PROTOCOL_VERSION) throw new DecodeError(`unsupported protocol version ${version}`);
      hello = { nonce: readFixed(reader, NONCE_BYTES), acceptorId: readNodeId(reader) };
      reader.end();
    } catch (error) {
      return { kind: 'failed', reason: `malformed hello frame: ${describeError(error)}` };
    }
    if (hello.acceptorId !== this.peerId) {
      return {
        kind: 'failed',
        reason: `the address of ${this.peerId} is held by ${JSON.stringify(hello.acceptorId)}`,
      };
    }
    const mismatch = certificateMismatch(this.credentials, 'the acceptor', hello.acceptorId);
    if (mismatch !== undefined) return mismatch;
    this.phase = 'awaitWelcome';
    this.acceptorNonce = hello.nonce;
    const connectorProof = proof(
      this.credentials.secret(),
      'connector',
      hello.nonce,
      this.ownId,
      this.peerId,
      this.purpose,
    );
    const reply = new ByteWriter().string(this.ownId).u8(purposes.indexOf(this.purpose));
    reply.bytes(this.nonce).bytes(connectorProof);
    return { kind: 'continue', reply: reply.finish() };
  }

  private receiveWelcome(payload: Uint8Array): HandshakeOutcome {
    const secret = this.credentials.secret();
    const expected = proof(secret, 'acceptor', this.nonce, this.peerId, this.ownId, this.purpose);
    if (payload.length !== PROOF_BYTES || !timingSafeEqual(expected, payload)) {
      return { kind: 'failed', reason: `${this.peerId} does not hold the cluster secret` };
    }
    const transcript = {
      acceptorNonce: this.acceptorNonce!,
      connectorNonce: this.nonce,
      acceptorId: this.peerId,
      connectorId: this.ownId,
      purpose: this.purpose,
    };
    const keys = keysFor(this.credentials, secret, transcript, 'connector');
    return { kind: 'authenticated', peerId: this.peerId, purpose: this.purpose, ...keys };
  }
}

/** A failure when the peer claims an id other than the one its certificate names (TLS only). */
function certificateMismatch(
  credentials: HandshakeCredentials,
  who: string,
  claimed: NodeId,
): HandshakeOutcome | undefined {
  const certified = credentials.certifiedPeer();
  if (certified === undefined || certified === claimed) return undefined;
  return {
    kind: 'failed',
    reason: `${who} claims to be ${JSON.stringify(claimed)} but its certificate names ${JSON.stringify(certified)}`,
  };
}

function keysFor(
  credentials: HandshakeCredentials,
  secret: Uint8Array,
  transcript: Omit<Parameters<typeof sessionKeys>[1], 'version'>,
  side: 'connector' | 'acceptor',
): { keys?: SessionKeys } {
  if (!credentials.sealFrames) return {};
  return { keys: sessionKeys(secret, { ...transcript, version: PROTOCOL_VERSION }, side) };
}

/** HMAC-SHA256 over a length-prefixed transcript, so that no two different inputs share their bytes. */
function proof(
  secret: Uint8Array,
  role: 'connector' | 'acceptor',
  nonce: Uint8Array,
  prover: NodeId,
  verifier: NodeId,
  purpose: ConnectionPurpose,
) {
  const transcript = new ByteWriter().string(`pureraft/${PROTOCOL_VERSION} ${role}`);
  transcript.bytes(nonce).string(prover).string(verifier).string(purpose);
  return createHmac('sha256', secret).update(transcript.finish()).digest();
}

function readNodeId(reader: ByteReader): NodeId {
  const id = reader.string(MAX_NODE_ID_BYTES);
  const problem = checkNodeId(id);
  if (problem !== undefined) throw new DecodeError(problem);
  return id;
}

function readPurpose(reader: ByteReader): ConnectionPurpose {
  const code = reader.u8();
  const purpose = purposes[code];
  if (purpose === undefined) throw new DecodeError(`unknown connection purpose ${code}`);
  return purpose;
}

function readFixed(reader: ByteReader, length: number): Uint8Array {
  const bytes = reader.bytes(length);
  if (bytes.length !== length) throw new DecodeError(`expected ${length} bytes, got ${bytes.length}`);
  return bytes;
}
