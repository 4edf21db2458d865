/** Stub: implemented shortly (helper H1). Falls back to the static policy's numbers. */
import type { Policy } from './types.js';
import { staticPolicy } from './static.js';

export const dynamoPolicy: Policy = (input) => staticPolicy(input);
