/**
 * A small JSON Schema (2020-12 subset) checker for the tests: type, const,
 * enum, required, properties, additionalProperties, items, pattern,
 * minLength, minimum, maximum, allOf, if/then/else, $ref (by `$id` or
 * `#/$defs/...`). Enough to hold the emitted events to schemas/*.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Schema = Record<string, unknown>;
const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

export function loadSchemas(dir: string): Map<string, Schema> {
  const byId = new Map<string, Schema>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const s = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Schema;
    byId.set(String(s.$id), s);
    byId.set(f, s);
  }
  return byId;
}

const typeOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;

/** Every violation of `schema` by `value`, as "path: message". */
export function validate(schemas: Map<string, Schema>, rootId: string, value: unknown): string[] {
  const root = schemas.get(rootId);
  if (!root) throw new Error(`no schema ${rootId}`);
  const errors: string[] = [];
  const resolve = (ref: string, base: Schema): [Schema, Schema] => {
    const [doc, frag] = ref.split('#') as [string, string | undefined];
    const target = doc === '' ? base : schemas.get(doc);
    if (!target) throw new Error(`unresolved $ref ${ref}`);
    let s: unknown = target;
    for (const part of (frag ?? '').split('/').filter(Boolean)) s = (s as Schema)[part];
    if (!isObj(s)) throw new Error(`unresolved $ref ${ref}`);
    return [s, target];
  };
  const check = (s: Schema, v: unknown, path: string, base: Schema): boolean => {
    const before = errors.length;
    const err = (m: string): void => {
      errors.push(`${path || '/'}: ${m}`);
    };
    if (typeof s.$ref === 'string') {
      const [t, b] = resolve(s.$ref, base);
      check(t, v, path, b);
    }
    if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(v)) err(`expected ${JSON.stringify(s.const)}`);
    if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) err(`${JSON.stringify(v)} not in enum`);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      const t = typeOf(v);
      if (!types.some((x) => x === t || (x === 'number' && t === 'integer'))) err(`expected ${types.join('|')}, got ${t}`);
    }
    if (typeof v === 'string') {
      if (typeof s.minLength === 'number' && v.length < s.minLength) err('too short');
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) err(`does not match ${s.pattern}`);
    }
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) err(`below ${s.minimum}`);
      if (typeof s.maximum === 'number' && v > s.maximum) err(`above ${s.maximum}`);
    }
    if (isObj(v)) {
      for (const r of (s.required as string[] | undefined) ?? []) if (!(r in v)) err(`missing ${r}`);
      const props = isObj(s.properties) ? s.properties : {};
      for (const [k, sub] of Object.entries(v)) {
        const ps = props[k];
        if (isObj(ps)) check(ps, sub, `${path}/${k}`, base);
        else if (s.additionalProperties === false) err(`unexpected property ${k}`);
        else if (isObj(s.additionalProperties)) check(s.additionalProperties, sub, `${path}/${k}`, base);
      }
    }
    if (Array.isArray(v) && isObj(s.items)) v.forEach((item, i) => check(s.items as Schema, item, `${path}/${i}`, base));
    if (Array.isArray(s.allOf)) for (const sub of s.allOf) check(sub as Schema, v, path, base);
    if (isObj(s.if)) {
      const mark = errors.length;
      const ok = check(s.if, v, path, base);
      errors.length = mark;
      const branch = ok ? s.then : s.else;
      if (isObj(branch)) check(branch, v, path, base);
    }
    return errors.length === before;
  };
  check(root, value, '', root);
  return errors;
}

/** Property names a schema (or a `$defs` entry) documents. */
export function documentedProperties(schemas: Map<string, Schema>, rootId: string, def: string): string[] {
  const root = schemas.get(rootId) as Schema;
  const d = ((root.$defs as Schema)[def] as Schema).properties as Schema;
  return Object.keys(d);
}
