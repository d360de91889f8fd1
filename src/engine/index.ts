/**
 * The Docker engine adapter: the only module that talks to the engine API. See
 * `createEngine` and the `Engine` / `ContainerChannel` ports in `core/ports.ts`.
 */
export { createEngine, type EngineOptions } from './docker-engine.js';
export { TRANSPORT_THRESHOLDS } from './transport.js';
