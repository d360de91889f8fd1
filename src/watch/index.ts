/**
 * The file watcher adapter. Everything a caller needs; nothing backend-specific.
 */
export { createWatcher, type CreateWatcherOptions, type WatcherBackend } from './watcher.js';
export type { Watcher, WatcherOptions } from '../core/ports.js';
