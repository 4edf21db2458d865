/** The scaling policies by name (`spec.policy`). Each returns the RAW need per role; constraints come later. */
import type { PolicyKind } from '../config/schema.js';
import type { Policy } from './types.js';
import { staticPolicy } from './static.js';
import { dynamoPolicy } from './dynamo.js';
import { slaPolicy } from './sla/index.js';
import { loadPolicy } from './load.js';
import { hpaPolicy } from './hpa.js';

export const policies: Record<PolicyKind, Policy> = {
  sla: slaPolicy,
  dynamo: dynamoPolicy,
  load: loadPolicy,
  hpa: hpaPolicy,
  static: staticPolicy,
};

export { staticPolicy, dynamoPolicy, slaPolicy, loadPolicy, hpaPolicy };
