/**
 * Fuzzing what the transport makes of bytes from the network: the frame decoder over randomly cut streams,
 * then every frame through each reader a connection may hand it to (the message codec, the snapshot offer,
 * both handshake sides, the frame opener). And, live, mutated payloads sealed by a member and sent to a real
 * transport on 127.0.0.1, which must drop what does not decode and deliver the rest. Nothing may throw, hang
 * or hold memory beyond the frame limit.
 */
import type { SnapshotRef } from '../../src/effects/snapshot-data.js';
import { checkMessage, decodeMessage, encodeMessage } from '../../src/effects/transport/codec.js';
import { dial } from '../../src/effects/transport/dial.js';
import { encodeFrame, FrameDecoder } from '../../src/effects/transport/framing.js';
import {
  AcceptorHandshake,
  ConnectorHandshake,
  secretCredentials,
} from '../../src/effects/transport/handshake.js';
import { FrameOpener, FrameSealer } from '../../src/effects/transport/sealing.js';
import { SharedSecret } from '../../src/effects/transport/security.js';
import { decodeOffer, encodeOffer } from '../../src/effects/transport/snapshot-wire.js';
import { zeroCounters } from '../../src/effects/transport/stats.js';
import { TcpTransport } from '../../src/effects/transport/tcp.js';
import { type Command, codec, everyMessageType } from '../../src/effects/transport/test-support.js';
import { chunks, count, type FuzzReport, fuzzEach, fuzzInput, heapUsed, Random } from './mutate.js';

const secret = new TextEncoder().encode('fuzz secret');
const credentials = secretCredentials(secret);
const MAX_FRAME_BYTES = 64 * 1024;
const limits = { maxEntries: 64 };

/** Valid payloads of every kind a connection carries, and framed streams of them. */
function corpus(): { payloads: Uint8Array[]; streams: Uint8Array[]; tokens: Uint8Array[] } {
  const encoded = everyMessageType('a', 'b').map((message) => encodeMessage(message, codec));
  const ref: SnapshotRef = { kind: 'snapshot-ref', name: 'x', bytes: 1000, crc32: 12345 };
  const offer = encodeOffer(
    {
      type: 'InstallSnapshot',
      term: 3,
      from: 'a',
      to: 'b',
      round: 5,
      snapshot: { meta: { index: 40, term: 2, membership: { voters: ['a', 'b'], learners: [] } }, data: ref },
    },
    ref,
    codec,
    limits,
  );
  const acceptor = new AcceptorHandshake('b', credentials);
  const auth = new ConnectorHandshake('a', 'b', credentials, 'messages').receive(acceptor.hello);
  const handshake = auth.kind === 'continue' ? [acceptor.hello, auth.reply] : [acceptor.hello];
  const sealer = new FrameSealer(new Uint8Array(32));
  const payloads = [...encoded, offer, ...handshake, ...encoded.map((payload) => sealer.seal(payload))];
  const random = new Random(1);
  const streams = Array.from({ length: 32 }, () =>
    Buffer.concat(Array.from({ length: 1 + random.below(4) }, () => encodeFrame(random.pick(payloads)))),
  );
  const tokens = [
    Uint8Array.of(0, 0, 0, 0),
    Uint8Array.of(0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
    new TextEncoder().encode('{"op":'),
    new TextEncoder().encode('null'),
    Uint8Array.of(0xed, 0xa0, 0x80),
  ];
  return { payloads, streams, tokens };
}

/** Throws if a reader threw, or accepted something it should not have. */
function readEveryWay(payload: Uint8Array): 'decoded' | 'refused' {
  const decoded = decodeMessage(payload, codec, limits);
  if (decoded.ok) {
    const problem = checkMessage(decoded.message, limits);
    if (problem !== undefined) throw new Error(`decoded an ill-formed message: ${problem}`);
  }
  decodeOffer(payload, codec, limits);
  const acceptor = new AcceptorHandshake('b', credentials);
  if (acceptor.receive(payload).kind === 'authenticated')
    throw new Error('authenticated a fuzzed auth frame');
  const connector = new ConnectorHandshake('a', 'b', credentials, 'messages');
  connector.receive(payload);
  connector.receive(payload);
  // An unchanged sealed frame of the corpus opens; anything else must be refused, and nothing may throw.
  new FrameOpener(new Uint8Array(32)).open(payload);
  return decoded.ok ? 'decoded' : 'refused';
}

/** Feeds `stream` to a decoder in random cuts; the payloads it yields, and whether it refused a length. */
function decodeStream(random: Random, stream: Uint8Array): { frames: Uint8Array[]; tooLarge: boolean } {
  const decoder = new FrameDecoder(MAX_FRAME_BYTES);
  const frames: Uint8Array[] = [];
  for (const chunk of chunks(random, stream)) {
    decoder.push(chunk);
    for (let result = decoder.next(); result !== undefined; result = decoder.next()) {
      if (result.kind === 'tooLarge') {
        if (result.length <= MAX_FRAME_BYTES) throw new Error(`refused ${result.length} bytes as too large`);
        return { frames, tooLarge: true };
      }
      if (result.payload.length > MAX_FRAME_BYTES) throw new Error('yielded a frame over the limit');
      frames.push(result.payload);
    }
  }
  return { frames, tooLarge: false };
}

/** `inputs` fuzzed inputs through the decoders, in this process. */
export function fuzzFrameDecoding(inputs: number, seed: number): FuzzReport {
  const random = new Random(seed);
  const { payloads, streams, tokens } = corpus();
  return fuzzEach(inputs, (input) => {
    if (input % 2 === 1) return [`payload ${readEveryWay(fuzzInput(random, payloads, tokens))}`];
    // A mutated stream, or a well-framed stream of mutated payloads (which reach the readers).
    const stream =
      random.below(2) === 0
        ? fuzzInput(random, streams, tokens)
        : Buffer.concat(
            Array.from({ length: 1 + random.below(4) }, () =>
              encodeFrame(fuzzInput(random, payloads, tokens)),
            ),
          );
    const { frames, tooLarge } = decodeStream(random, stream);
    return [
      tooLarge ? 'stream refused (length over the limit)' : 'stream decoded',
      ...frames.map((frame) => `frame ${readEveryWay(frame)}`),
    ];
  });
}

/**
 * `inputs` fuzzed payloads, sealed by member `a` on one authenticated connection to a real transport `b`:
 * b must take every frame (framesReceived), deliver only well-formed messages, and go on delivering.
 */
export async function fuzzLiveTransport(inputs: number, seed: number): Promise<FuzzReport> {
  const random = new Random(seed);
  const { payloads, tokens } = corpus();
  const outcomes: Record<string, number> = {};
  const failures: FuzzReport['failures'] = [];
  const b = new TcpTransport<Command>({
    id: 'b',
    listen: { host: '127.0.0.1', port: 0 },
    peers: { a: { host: '127.0.0.1', port: 1 } },
    secret,
    codec,
    limits,
    maxFrameBytes: MAX_FRAME_BYTES,
  });
  b.onMessage((message) => {
    const problem = checkMessage(message, limits);
    count(outcomes, 'delivered');
    if (problem !== undefined)
      failures.push({ input: -1, problem: `delivered an ill-formed message: ${problem}` });
  });
  await b.start();
  const heapBefore = heapUsed();
  const startedAt = performance.now();
  try {
    const connection = await openAs('a', b.port);
    for (let input = 0; input < inputs; input++) {
      const payload = fuzzInput(random, payloads, tokens);
      connection.write(payload.subarray(0, MAX_FRAME_BYTES));
      // Let the socket drain now and then: bounded memory on this side too.
      if (!connection.writable) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const deadline = Date.now() + 30_000;
    while (b.stats.framesReceived < inputs && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    if (b.stats.framesReceived !== inputs)
      failures.push({ input: -1, problem: `b took ${b.stats.framesReceived} of ${inputs} frames` });
    outcomes['dropped: did not decode'] = b.stats.decodeErrors;
    outcomes['dropped: misaddressed'] = b.stats.misaddressed;
    await connection.close();
  } finally {
    await b.stop();
  }
  // Frames go out back to back, so no one input has a time of its own: a hang shows as frames never taken.
  const slowestMs = performance.now() - startedAt;
  return { inputs, outcomes, failures, slowestMs, heapGrowthBytes: heapUsed() - heapBefore };
}

/** A sealed connection from member `id` to the transport on `port`, through the transport's own dialler. */
function openAs(id: string, port: number): Promise<ReturnType<typeof dial> & object> {
  return new Promise((resolve, reject) => {
    const connection = dial(
      {
        ownId: id,
        security: new SharedSecret(secret),
        handshakeTimeoutMs: 2_000,
        counters: zeroCounters(),
        log: () => {},
        peerId: 'b',
        address: { host: '127.0.0.1', port },
        purpose: 'messages',
        maxFrameBytes: MAX_FRAME_BYTES,
      },
      {
        onOpen: () => resolve(connection!),
        onClose: () => reject(new Error('the fuzzing connection closed')),
      },
    );
  });
}
