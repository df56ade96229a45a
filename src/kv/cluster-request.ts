/**
 * The bodies of the membership requests (routes in request.ts): `POST /cluster/learners` takes
 * `{"id": "n4", "raft": "host:port", "http": "host:port"}`, `POST /cluster/promote` takes `{"id": "n4"}`. Every
 * mistake is a 400 naming the field.
 */
import type { NodeId } from '../core/index.js';
import { checkNodeId } from '../effects/transport/index.js';
import { parseHostPort, whyBadAddress } from './address.js';
import type { LearnerRequest } from './cluster-admin.js';
import { HttpError, jsonObject } from './request.js';

const UNSPECIFIED_HOSTS = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);
const LEARNER_SHAPE = '{"id": "n4", "raft": "host:port", "http": "host:port"}';
const PROMOTE_SHAPE = '{"id": "n4"}';

export function learnerRequest(body: Uint8Array): LearnerRequest {
  const fields = jsonObject(body, LEARNER_SHAPE);
  onlyFields(fields, ['id', 'raft', 'http'], LEARNER_SHAPE);
  const id = idField(fields);
  for (const name of ['raft', 'http']) {
    const problem = whyBadAddress(fields[name], `"${name}"`);
    if (problem !== undefined) throw new HttpError(400, problem);
    // What the others dial: a node may listen on every interface, but no one can reach it at "any".
    if (UNSPECIFIED_HOSTS.has(parseHostPort(fields[name] as string)!.host))
      throw new HttpError(
        400,
        `"${name}" must be an address the other members can reach, not ${fields[name]}`,
      );
  }
  return { id, raft: fields.raft as string, http: fields.http as string };
}

export function promoteRequest(body: Uint8Array): NodeId {
  const fields = jsonObject(body, PROMOTE_SHAPE);
  onlyFields(fields, ['id'], PROMOTE_SHAPE);
  return idField(fields);
}

function idField(fields: Record<string, unknown>): NodeId {
  const { id } = fields;
  if (typeof id !== 'string') throw new HttpError(400, '"id" must be a string, the node\'s id');
  const problem = checkNodeId(id);
  if (problem !== undefined) throw new HttpError(400, `bad "id": ${problem}`);
  return id;
}

/** An unknown field is most likely a typo: refuse it rather than ignore what the caller meant. */
function onlyFields(fields: Record<string, unknown>, known: readonly string[], shape: string): void {
  const unknown = Object.keys(fields).find((name) => !known.includes(name));
  if (unknown !== undefined)
    throw new HttpError(400, `unknown field ${JSON.stringify(unknown)}: the body is ${shape}`);
}
