/** The configuration layer: load, validate and describe the x-sync model of a compose project. */
export { loadModel, statKind } from './load.js';
export { normalize, type NormalizeContext, type NormalizeResult } from './normalize.js';
export { xSyncJsonSchema, normalizeSignal } from './schema.js';
export { describeModel } from './describe.js';
export { findComposeFiles, type ComposeFiles } from './compose-files.js';
export { locateProblems } from './locate.js';
export { formatYamlPath, parseYamlPath } from './yaml-path.js';
