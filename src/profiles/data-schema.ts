/**
 * The JSON layout of Dynamo's profiler output (the `planner-profile-data-*` ConfigMap / `*_raw_data.json` files),
 * validated with zod. Structural checks only; ordering and cross-array checks are in `profile.ts`.
 */
import { z } from 'zod';

const finiteList = z.array(z.number()).min(1, 'needs at least one point');

export const prefillData = z.looseObject({
  prefill_isl: finiteList,
  prefill_ttft: finiteList,
  prefill_thpt_per_gpu: finiteList,
});
export type PrefillData = z.infer<typeof prefillData>;

export const decodeData = z.looseObject({
  x_kv_usage: finiteList,
  y_context_length: finiteList,
  z_itl: finiteList,
  z_thpt_per_gpu: finiteList,
  /** A scalar in the JSON layout; the NPZ layout stores a one-element array, which we accept too. */
  max_kv_tokens: z.union([z.number().positive(), z.tuple([z.number().positive()])]),
});
export type DecodeData = z.infer<typeof decodeData>;
