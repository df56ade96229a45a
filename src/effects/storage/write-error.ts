/**
 * A write that failed (the disk is full, the device reports an I/O error, the directory went away), named by
 * its file and operation so that whoever reads it learns why: "could not sync .../wal-00000003.log: EIO: ...".
 */
export class StorageWriteError extends Error {
  override readonly name = 'StorageWriteError';
  /** The system error code (ENOSPC, EIO, EDQUOT, ...), when there is one. */
  readonly code: string | undefined;

  constructor(
    readonly file: string,
    readonly operation: string,
    override readonly cause: Error,
  ) {
    super(`could not ${operation} ${file}: ${cause.message}`);
    this.code = (cause as NodeJS.ErrnoException).code;
  }
}

/** Runs `write`, turning a failure into a StorageWriteError about `file` (an error already one passes through). */
export async function writing<T>(file: string, operation: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof StorageWriteError) throw error;
    throw new StorageWriteError(file, operation, error instanceof Error ? error : new Error(String(error)));
  }
}
