/** Paths from compiled tests (dist/test/...) back to the repository. */
import { fileURLToPath } from 'node:url';

/** The repository root, whether a test runs from dist/test or elsewhere under dist. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function fromRoot(...parts: string[]): string {
  return [repoRoot.replace(/\/$/, ''), ...parts].join('/');
}
