export { DiskStorage, type DiskStorageOptions, type DiskStorageStats } from './disk.js';
export { DirectoryLockedError } from './lock.js';
export { MemoryStorage } from './memory.js';
export { StorageCorruptionError } from './recovery.js';
export {
  applyPersist,
  DurableLog,
  initialHardState,
  lastIndexAfter,
  type PersistEffect,
  type Storage,
} from './storage.js';
