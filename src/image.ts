/**
 * The container image of this version of pd-planner, as the Dockerfile builds it and deploy/ runs it:
 * `ghcr.io/example/pd-planner:<package.json version>`. Point deploy/ and `sweep --emit-job --image` at your registry's
 * copy (deploy/README.md).
 */
import { readFileSync } from 'node:fs';

export const IMAGE_REPOSITORY = 'ghcr.io/example/pd-planner';

/** package.json's version: the file sits at the package root, next to src/ and dist/ alike (and is in the image). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function defaultImage(): string {
  return `${IMAGE_REPOSITORY}:${packageVersion()}`;
}
