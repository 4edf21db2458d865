/** One policy as the service runs it: its validated spec, its performance profile and its name. */
import type { LoadedPolicy } from '../config/load.js';
import type { PolicySpec } from '../config/schema.js';
import type { PerformanceProfile } from '../profiles/types.js';

export interface LoadedPlan {
  spec: PolicySpec;
  profile: PerformanceProfile;
  /** For logs, the `policy` metrics label and the Lease name: metadata.name. */
  name: string;
  /** metadata.namespace, when the file sets one. */
  namespace?: string;
  warnings: string[];
}

/** Adapts config/load's LoadedPolicy (profile optional) to what the service needs. */
export function toLoadedPlan(loaded: LoadedPolicy, loadProfile: (ref: string, baseDir: string) => PerformanceProfile): LoadedPlan {
  return {
    spec: loaded.spec,
    profile: loaded.profile ?? loadProfile(loaded.spec.profile, loaded.baseDir),
    name: loaded.file.metadata.name,
    ...(loaded.file.metadata.namespace ? { namespace: loaded.file.metadata.namespace } : {}),
    warnings: loaded.warnings,
  };
}
