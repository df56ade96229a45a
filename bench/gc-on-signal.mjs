// Preloaded into the node processes of bench:growth (with --expose-gc): SIGUSR2 runs a full garbage
// collection, so that the memory a node then reports is what it holds live, not garbage awaiting collection.
process.on('SIGUSR2', () => globalThis.gc?.());
