import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/program.js';
import { ROOT, runCli } from './cli-helpers.js';

/** package.json's version, read here rather than through the helper the CLI uses. */
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('pd-planner --version', () => {
  it('prints the package version and exits 0 (in-process, --version and -V)', async () => {
    for (const flag of ['--version', '-V']) {
      let stdout = '';
      const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
      let code: number;
      try {
        code = await main(['node', 'pd-planner', flag]);
      } finally {
        out.mockRestore();
      }
      expect(code).toBe(0);
      expect(stdout).toBe(`${VERSION}\n`);
    }
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('through the binary: the version on stdout, nothing on stderr, exit 0', () => {
    const result = runCli(['--version']);
    expect(result).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
  });
});
