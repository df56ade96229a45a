/** Files on disk damaged in a way a crash cannot explain: starting could lose acknowledged writes. */
export class StorageCorruptionError extends Error {
  override readonly name = 'StorageCorruptionError';

  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    what: 'write-ahead log' | 'snapshot' | 'state file' = 'write-ahead log',
  ) {
    super(`corrupt ${what}: ${file} at offset ${offset}: ${reason}`);
  }
}
