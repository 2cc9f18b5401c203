/**
 * PURE: policy file text (YAML 1.2; JSON is valid YAML) → `PolicyResult`.
 * YAML syntax errors (including duplicate keys) are reported with their line;
 * validation errors get the line of the key they name. No environment
 * variables are expanded: `${clientid}` in a topic is an ACL placeholder.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { validatePolicy, type Locate, type Path, type PolicyError, type PolicyResult } from './schema.js';

const YAML_FIX = 'fix the YAML syntax at that line (indentation, quotes, brackets; quote strings that contain ": " or start with * & ! { [)';

/** Parse and validate policy text. */
export function parsePolicyText(text: string): PolicyResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    const errors: PolicyError[] = doc.errors.map((e) => {
      const line = e.linePos?.[0].line;
      const message = `YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`;
      return line === undefined ? { path: '', message, fix: YAML_FIX } : { path: '', message, fix: YAML_FIX, line };
    });
    return { ok: false, errors };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `YAML: ${(err as Error).message}`, fix: 'avoid deep alias (*anchor) expansion' }] };
  }
  const locate: Locate = (path) => {
    const offset = offsetOf(doc.contents, path);
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };
  return validatePolicy(data, { locate });
}

/** Source offset of the deepest node on `path` (a map key's own position for the last segment). */
function offsetOf(root: unknown, path: Path): number | undefined {
  let node: unknown = root;
  let best = rangeStart(root);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
      if (!pair) return best;
      best = rangeStart(pair.key) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      best = rangeStart(node) ?? best;
    } else return best;
  }
  return best;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
