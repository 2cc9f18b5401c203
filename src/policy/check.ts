/**
 * `hookwarden check-policy FILE`: read and validate a policy file without a
 * server. The CLI prints every error at once and exits non-zero on any.
 */
import { readFile } from 'node:fs/promises';
import { formatErrors, summarize } from './format.js';
import { parsePolicyText } from './parse.js';
import type { PolicyError } from './schema.js';

export { formatErrors } from './format.js';

export interface CheckResult {
  readonly errors: readonly PolicyError[];
  /** What the policy does, when valid ("" otherwise). */
  readonly summary: string;
}

/** Read `path` and report every error, or summarize the valid policy. */
export async function checkPolicyFile(path: string): Promise<CheckResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { errors: [{ path: '', message: `cannot read the file (${code})`, fix: 'check the path and that hookwarden may read it' }], summary: '' };
  }
  const result = parsePolicyText(text);
  return result.ok ? { errors: [], summary: summarize(result.set) } : { errors: result.errors, summary: '' };
}

