/**
 * Stands in for Node's modules in the page. The page reads real nodes' traces with `parseTrace` from
 * src/runtime/node/trace.ts, whose module also writes traces and fingerprints transitions with Node's crypto:
 * the page never calls those, and if it ever did, it would fail here, loudly.
 */
const unavailable = (name: string) => (): never => {
  throw new Error(`${name} is not available in the browser`);
};

export const createHash = unavailable('crypto.createHash');
export const open = unavailable('fs.open');
export const readFile = unavailable('fs.readFile');
