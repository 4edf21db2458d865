export { profileFromData } from './profile.js';
export { loadProfile, builtinProfiles, BUILTIN_PROFILES_DIR, DEFAULT_PROFILE } from './load.js';
export type { PerformanceProfile, Interpolated, BestDecode, DecodeRow } from './types.js';
