/**
 * PURE: one ACL topic as written (`devices/${clientid}/#`, `%c/#`, `eq a/#`),
 * compiled once into levels, literal parts and placeholders, and matched
 * against a requested topic's levels without rendering a string (except
 * when a placeholder value contains `/` and so spans levels). acl.ts holds
 * the semantics; this file the mechanics.
 */
import { realTopic, topicFilterProblem } from './topic.js';

const CLIENTID = 0;
const USERNAME = 1;
type Var = typeof CLIENTID | typeof USERNAME;
interface Wild {
  readonly wild: '+' | '#';
}
const PLUS: Wild = { wild: '+' };
const HASH: Wild = { wild: '#' };
interface Tpl {
  readonly parts: readonly (string | Var)[];
}
type Item = string | Wild | Tpl;

export type CompiledAclTopic =
  | { readonly kind: 'eq'; readonly source: string; readonly text: string }
  | { readonly kind: 'filter'; readonly source: string; readonly items: readonly Item[]; readonly uses: number }
  | { readonly kind: 'never'; readonly source: string };

type LevelParse = { readonly item: Item } | { readonly problem: string; readonly fix: string };

const PLACEHOLDER_FIX = 'use ${clientid} or ${username} (or %c, %u as a whole level); write ${$} for a literal $';

function placeholderFix(name: string): string {
  const n = name.toLowerCase().replace(/[^a-z]/g, '');
  const guess = n.startsWith('client') || n === 'c' ? 'clientid' : n.startsWith('user') || n === 'u' ? 'username' : undefined;
  return guess ? `did you mean \${${guess}}? (${PLACEHOLDER_FIX})` : PLACEHOLDER_FIX;
}

function parseLevel(level: string): LevelParse {
  if (level === '%c') return { item: { parts: [CLIENTID] } };
  if (level === '%u') return { item: { parts: [USERNAME] } };
  const parts: (string | Var)[] = [];
  let lit = '';
  let i = 0;
  while (i < level.length) {
    const open = level.indexOf('${', i);
    if (open < 0) {
      lit += level.slice(i);
      break;
    }
    lit += level.slice(i, open);
    const close = level.indexOf('}', open + 2);
    if (close < 0) return { problem: `"${level}" opens a placeholder with \${ but never closes it`, fix: PLACEHOLDER_FIX };
    const name = level.slice(open + 2, close);
    if (name === '$') lit += '$';
    else if (name === 'clientid' || name === 'username') {
      if (lit !== '') parts.push(lit);
      lit = '';
      parts.push(name === 'clientid' ? CLIENTID : USERNAME);
    } else return { problem: `unknown placeholder "\${${name}}"`, fix: placeholderFix(name) };
    i = close + 1;
  }
  if (lit !== '') parts.push(lit);
  if (parts.length === 0) return { item: '' };
  if (parts.length === 1 && typeof parts[0] === 'string') {
    const text = parts[0];
    return { item: text === '+' ? PLUS : text === '#' ? HASH : text };
  }
  return { item: { parts } };
}

/** Compile one topic as written; an unusable one compiles to a topic that never matches. */
export function compileAclTopic(source: string): CompiledAclTopic {
  if (source.startsWith('eq ')) return { kind: 'eq', source, text: source.slice(3) };
  const items: Item[] = [];
  let uses = 0;
  for (const level of source.split('/')) {
    const p = parseLevel(level);
    if ('problem' in p) return { kind: 'never', source };
    items.push(p.item);
    if (typeof p.item === 'object' && 'parts' in p.item) {
      for (const part of p.item.parts)
        if (part === CLIENTID) uses |= 1;
        else if (part === USERNAME) uses |= 2;
    }
  }
  return { kind: 'filter', source, items, uses };
}

/**
 * Why an ACL topic as written cannot work, with the fix; undefined when it is
 * fine. Used by policy validation.
 */
export function aclTopicProblem(source: string): { readonly message: string; readonly fix: string } | undefined {
  const sharedFix = 'write the topic without the $share/<group>/ or $queue/ prefix: subscriptions are checked by their real topic';
  if (source.startsWith('eq ')) {
    const text = source.slice(3);
    const problem = topicFilterProblem(text);
    if (problem) return { message: `"${source}": ${problem}`, fix: 'write "eq " followed by the exact topic filter, e.g. "eq devices/#"' };
    if (realTopic(text).group !== undefined) return { message: `"${source}" can never match`, fix: sharedFix };
    return undefined;
  }
  let probe = '';
  const levels = source.split('/');
  for (let i = 0; i < levels.length; i++) {
    const p = parseLevel(levels[i] as string);
    if ('problem' in p) return { message: p.problem, fix: p.fix };
    const item = p.item;
    probe +=
      (i > 0 ? '/' : '') +
      (typeof item === 'string' ? item : 'wild' in item ? item.wild : item.parts.map((x) => (typeof x === 'string' ? x : 'x')).join(''));
  }
  const problem = topicFilterProblem(probe);
  if (problem) return { message: `"${source}": ${problem}`, fix: 'use a valid MQTT topic filter, e.g. "devices/${clientid}/#"' };
  if (realTopic(probe).group !== undefined) return { message: `"${source}" can never match`, fix: sharedFix };
  return undefined;
}

/** Who a request is from, prepared once per evaluation. */
export interface AclTopicSubject {
  /** [client id, username], indexed by placeholder. */
  readonly vals: readonly [string, string];
  /** Bit 1: the client id contains `/`; bit 2: the username does. */
  readonly slashIn: number;
  /** Bit 1: the client id is unusable in a placeholder (empty, or contains + or #); bit 2: the username. */
  readonly bad: number;
}

export function aclTopicSubject(clientid: string, username: string): AclTopicSubject {
  return {
    vals: [clientid, username],
    slashIn: (clientid.includes('/') ? 1 : 0) | (username.includes('/') ? 2 : 0),
    bad: (unusable(clientid) ? 1 : 0) | (unusable(username) ? 2 : 0),
  };
}

function tplEquals(parts: readonly (string | Var)[], level: string, vals: readonly [string, string]): boolean {
  let pos = 0;
  for (const part of parts) {
    const s = typeof part === 'string' ? part : vals[part];
    if (!level.startsWith(s, pos)) return false;
    pos += s.length;
  }
  return pos === level.length;
}

function matchItems(items: readonly Item[], topic: readonly string[], vals: readonly [string, string]): boolean {
  const n = items.length;
  for (let i = 0; ; i++) {
    if (i === n) return i === topic.length;
    const it = items[i] as Item;
    if (it === HASH && i === n - 1) return true;
    if (i === topic.length) return false;
    if (it === PLUS) continue;
    if (typeof it === 'string') {
      if (it !== topic[i]) return false;
    } else if (it === HASH || !('parts' in it) || !tplEquals(it.parts, topic[i] as string, vals)) return false;
  }
}

/** Slow path: a placeholder value contains `/`, so it spans levels (render, then split). */
function expand(items: readonly Item[], vals: readonly [string, string]): Item[] {
  const out: Item[] = [];
  for (const it of items) {
    if (typeof it === 'object' && 'parts' in it) {
      const text = it.parts.map((p) => (typeof p === 'string' ? p : vals[p])).join('');
      for (const level of text.split('/')) out.push(level);
    } else out.push(it);
  }
  return out;
}

/** Placeholder values no rule may use (bit 1 client id, bit 2 username): empty, or containing a wildcard. */
function unusable(v: string): boolean {
  return v === '' || v.includes('+') || v.includes('#');
}

/** Does compiled topic `t` match the requested `topic` (split into `levels`) for `s`? */
export function aclTopicMatches(t: CompiledAclTopic, topic: string, levels: readonly string[], s: AclTopicSubject): boolean {
  const { vals, slashIn, bad } = s;
  switch (t.kind) {
    case 'eq':
      return t.text === topic;
    case 'never':
      return false;
    case 'filter':
      if (t.uses & bad) return false;
      return t.uses & slashIn ? matchItems(expand(t.items, vals), levels, vals) : matchItems(t.items, levels, vals);
  }
}
