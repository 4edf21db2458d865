/**
 * bench/tune.ts --cache keeps the yardsticks on disk under a fingerprint of the code they come from (bench/matrix.ts
 * sourceFingerprint): a change to that code must change it, a change to the `sla` policy under test must not.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFingerprint } from '../../bench/matrix.js';

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-fingerprint-'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

describe('the yardstick cache fingerprint', () => {
  const base = {
    'bench/matrix.ts': 'matrix',
    'src/constraints/spot.ts': 'split',
    'src/sim/cluster/cluster.ts': 'model',
    'src/policies/sla/slo-feedback.ts': 'loop',
    'src/README.md': 'not code',
  };
  const of = (files: Record<string, string>) => {
    const root = tree(files);
    try {
      return sourceFingerprint(root);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  };

  it('changes with the model, the constraints or this bench, not with the sla policy or a non-.ts file', () => {
    const first = of(base);
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    expect(of(base)).toBe(first);
    expect(of({ ...base, 'src/constraints/spot.ts': 'split, placed' })).not.toBe(first);
    expect(of({ ...base, 'src/sim/cluster/cluster.ts': 'model 2' })).not.toBe(first);
    expect(of({ ...base, 'bench/matrix.ts': 'matrix 2' })).not.toBe(first);
    expect(of({ ...base, 'src/constraints/new.ts': '' })).not.toBe(first);
    expect(of({ ...base, 'src/policies/sla/slo-feedback.ts': 'loop, trimmed' })).toBe(first);
    expect(of({ ...base, 'src/README.md': 'still not code' })).toBe(first);
  });

  it('the repository has one', () => {
    expect(sourceFingerprint()).toMatch(/^[0-9a-f]{16}$/);
  });
});
