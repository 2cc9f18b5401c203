/**
 * Our protos (protos/emqx/exhook/v{1,2,3}) against EMQX's reference copies
 * (test/fixtures/reference-protos): same packages, services, methods,
 * messages, enums, field numbers and types; the only difference is the
 * documented v2 extra of field 2 in TopicFilter (qos) and SubOpts (share).
 */
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOAD_OPTIONS, protoFile, protoRoot } from '../../src/edge/proto.js';

type G = 'v1' | 'v2' | 'v3';
interface Field { name: string; number: number; label: string; type: string; typeName: string }
interface Descriptor { name: string; field: Field[]; enumType: { name: string; value: { name: string; number: number }[] }[]; oneofDecl: { name: string }[] }

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const reference = (g: G) => protoLoader.loadSync(join(REPO, 'test/fixtures/reference-protos', `exhook-${g}.proto`), LOAD_OPTIONS);
const ours = (g: G) => protoLoader.loadSync(protoFile(g), LOAD_OPTIONS);

/** Every message as comparable data: fields by number, nested enums, oneof names. */
function messages(def: protoLoader.PackageDefinition): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [name, value] of Object.entries(def)) {
    if (!('format' in value) || value.format !== 'Protocol Buffer 3 DescriptorProto') continue;
    const d = value.type as unknown as Descriptor;
    out.set(name, {
      fields: d.field.map((f) => [f.number, f.name, f.label, f.type, f.typeName]).sort((a, b) => Number(a[0]) - Number(b[0])),
      enums: d.enumType.map((e) => [e.name, e.value.map((v) => [v.name, v.number])]),
      oneofs: d.oneofDecl.map((o) => o.name),
    });
  }
  return out;
}

function services(def: protoLoader.PackageDefinition, g: G): unknown {
  const svc = def[`emqx.exhook.${g}.HookProvider`] as unknown as Record<string, protoLoader.MethodDefinition<object, object>>;
  return Object.entries(svc)
    .map(([name, m]) => [name, m.path, m.requestStream, m.responseStream, (m.requestType.type as { name: string }).name, (m.responseType.type as { name: string }).name])
    .sort();
}

describe('edge protos', () => {
  it.each(['v1', 'v2', 'v3'] as const)('edge protos - %s: services and methods are identical to the reference', (g) => {
    expect(services(ours(g), g)).toEqual(services(reference(g), g));
  });

  it.each(['v1', 'v3'] as const)('edge protos - %s: every message, field number, type and enum is identical to the reference', (g) => {
    expect(messages(ours(g))).toEqual(messages(reference(g)));
  });

  it('edge protos - v2: identical to the reference except the kept field 2 of TopicFilter (qos) and SubOpts (share)', () => {
    const mine = messages(ours('v2'));
    const ref = messages(reference('v2'));
    expect([...mine.keys()].sort()).toEqual([...ref.keys()].sort());
    const extras = { 'emqx.exhook.v2.TopicFilter': [2, 'qos', 'LABEL_OPTIONAL', 'TYPE_UINT32', ''], 'emqx.exhook.v2.SubOpts': [2, 'share', 'LABEL_OPTIONAL', 'TYPE_STRING', ''] };
    for (const [name, m] of mine) {
      const extra = extras[name as keyof typeof extras];
      if (!extra) {
        expect(m, name).toEqual(ref.get(name));
        continue;
      }
      const { fields, ...rest } = m as { fields: unknown[][] };
      expect(fields, name).toContainEqual(extra);
      expect({ ...rest, fields: fields.filter((f) => f[0] !== 2) }, name).toEqual(ref.get(name));
    }
    // v1 has the same two fields with the same numbers and types: the wire of 5.0–5.3 and 4.x agree
    const v1 = messages(reference('v1'));
    expect((v1.get('emqx.exhook.v1.TopicFilter') as { fields: unknown[] }).fields).toContainEqual(extras['emqx.exhook.v2.TopicFilter']);
    expect((v1.get('emqx.exhook.v1.SubOpts') as { fields: unknown[] }).fields).toContainEqual(extras['emqx.exhook.v2.SubOpts']);
  });

  it('edge protos - protoRoot is found from src/edge and from the compiled dist/src/edge', () => {
    const expected = join(REPO, 'protos', 'emqx', 'exhook');
    expect(protoRoot()).toBe(expected);
    expect(protoRoot(join(REPO, 'dist', 'src', 'edge'))).toBe(expected);
    expect(() => protoRoot('/')).toThrow(/cannot find/);
  });
});
