export { StorageCorruptionError } from './corruption.js';
export { DiskStorage, type DiskStorageOptions, type DiskStorageStats } from './disk.js';
export { DiskSnapshotStore } from './disk-snapshots.js';
export { DirectoryLockedError } from './lock.js';
export { MemoryStorage } from './memory.js';
export { MemorySnapshotStore } from './memory-snapshots.js';
export {
  applyPersist,
  boundsAfter,
  DurableLog,
  initialHardState,
  type LogBounds,
  type PersistEffect,
  type Storage,
} from './storage.js';
