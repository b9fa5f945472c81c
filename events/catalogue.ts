import { type z } from 'zod';
import { CASE_EVENTS } from './case-events';
import type { Category } from './categories';
import { type ClassificationContext, categoriesOf, type DatumKind, datumKindOf } from './datum';
import { PROTOCOL_EVENTS } from './protocol-events';
import { TRAIL_EVENTS } from './trail-events';
import { UPCASTERS } from './upcasters';

export const EVENT_SCHEMAS = { ...CASE_EVENTS, ...PROTOCOL_EVENTS, ...TRAIL_EVENTS } as const;
export type EventType = keyof typeof EVENT_SCHEMAS;
export type EventData<T extends EventType> = z.output<(typeof EVENT_SCHEMAS)[T]>;
export type CaseEventType = keyof typeof CASE_EVENTS;
export type ProtocolEventType = keyof typeof PROTOCOL_EVENTS;
export type TrailEventType = keyof typeof TRAIL_EVENTS;

/** A domain event: its type and data at the current version. */
export type DomainEvent<T extends EventType = EventType> = { [K in T]: { type: K; data: EventData<K> } }[T];
export type CaseEvent = DomainEvent<CaseEventType>;
export type ProtocolEvent = DomainEvent<ProtocolEventType>;
export type TrailEvent = DomainEvent<TrailEventType>;

export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];
export const CASE_EVENT_TYPES = Object.keys(CASE_EVENTS) as CaseEventType[];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, type);
}

/** The version writers write: one more than the number of upcasters behind it. */
export function currentVersion(type: EventType): number {
  return 1 + Object.keys(UPCASTERS[type] ?? {}).length;
}

/** Brings data stored at `version` forward to the current shape. */
export function upcast(type: EventType, version: number, data: unknown): unknown {
  const steps = UPCASTERS[type] ?? {};
  let current = data;
  for (let v = version; v < currentVersion(type); v++) {
    const step = steps[v];
    if (!step) throw new Error(`no upcaster for ${type} v${v}`);
    current = step(current as never);
  }
  return current;
}

/** Checks event data against the current schema; writers call it before anything is appended. */
export function parseEventData<T extends EventType>(type: T, data: unknown): EventData<T> {
  return EVENT_SCHEMAS[type].parse(data) as EventData<T>;
}

/* ---------------------------------------------------------------------------------------------
 * Classification. Each event schema is compiled once into a list of datum extractors by walking
 * the zod schema: a node marked with a datum kind is one datum; wrappers, objects and arrays are
 * walked through; any other node without a mark is a programming error, reported at load time
 * (so no field can be added to an event without saying what kind of datum it is).
 * ------------------------------------------------------------------------------------------- */

/** One datum of an event: where it is, what kind it is, its value. */
export interface Datum {
  path: ReadonlyArray<string | number>;
  kind: DatumKind;
  value: unknown;
}

/** A datum with its categories (empty for `none`: not personal data). */
export interface ClassifiedDatum extends Datum {
  categories: Category[];
}

type Extractor = (value: unknown, path: Array<string | number>, out: Datum[]) => void;

interface ZodNode {
  _zod: { def: { type: string; innerType?: ZodNode; shape?: Record<string, ZodNode>; element?: ZodNode; in?: ZodNode } };
}

/** The schema a wrapper (optional, default, pipe, ...) stands for; undefined for anything else. */
function unwrapped(schema: ZodNode): ZodNode | undefined {
  const def = schema._zod.def;
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'nullable':
    case 'prefault':
    case 'readonly':
      return def.innerType;
    case 'pipe':
      return def.in;
    default:
      return undefined;
  }
}

function compile(schema: ZodNode, where: string): Extractor {
  const kind = datumKindOf(schema as unknown as z.ZodType);
  if (kind) {
    return (value, path, out) => {
      if (value !== undefined) out.push({ path: [...path], kind, value });
    };
  }
  const inner = unwrapped(schema);
  if (inner) return compile(inner, where);
  const def = schema._zod.def;
  switch (def.type) {
    case 'object': {
      const fields = Object.entries(def.shape!).map(([key, field]) => [key, compile(field, `${where}.${key}`)] as const);
      return (value, path, out) => {
        if (value === undefined || value === null) return;
        const obj = value as Record<string, unknown>;
        for (const [key, extract] of fields) {
          path.push(key);
          extract(obj[key], path, out);
          path.pop();
        }
      };
    }
    case 'array': {
      const element = compile(def.element!, `${where}[]`);
      return (value, path, out) => {
        if (!Array.isArray(value)) return;
        value.forEach((item, i) => {
          path.push(i);
          element(item, path, out);
          path.pop();
        });
      };
    }
    default:
      throw new Error(`event field ${where} (${def.type}) is not classified: mark it with datum()`);
  }
}

const EXTRACTORS = Object.fromEntries(EVENT_TYPES.map((type) => [type, compile(EVENT_SCHEMAS[type] as unknown as ZodNode, type)])) as Record<EventType, Extractor>;

/** The data of an event, datum by datum, as the schema classifies them. */
export function datumsOf(event: DomainEvent): Datum[] {
  const out: Datum[] = [];
  EXTRACTORS[event.type](event.data, [], out);
  return out;
}

/** The data of an event with their categories (ENTITLEMENTS.md "The categories of each datum"). */
export function classify(event: DomainEvent, ctx: ClassificationContext): ClassifiedDatum[] {
  const planRevision = 'planRevision' in event.data ? event.data.planRevision : undefined;
  // Each field named rather than `{ ...d, categories }`: a spread followed by more properties takes a slow path in V8.
  return datumsOf(event).map((d) => ({ path: d.path, kind: d.kind, value: d.value, categories: categoriesOf(d.kind, d.value, ctx, planRevision) }));
}

/**
 * Field names that may carry what identifies a person or free text about them: identity fields,
 * notes, and free-text strings inside any personal datum. The log redaction list is derived
 * from it (src/logging.ts). Codes, agency ids, dates and structural ids are not listed: they
 * identify no one on their own and logs need them.
 */
export function identifyingFieldNames(): string[] {
  const names = new Set<string>();
  for (const type of EVENT_TYPES) collectIdentifying(EVENT_SCHEMAS[type], undefined, undefined, names);
  return [...names].sort();
}

interface StringDef {
  type: string;
  format?: string;
  checks?: Array<{ _zod: { def: { format?: string } } }>;
}

function isFreeText(def: StringDef): boolean {
  return def.type === 'string' && !def.format && !(def.checks ?? []).some((c) => c._zod.def.format);
}

function collectIdentifying(schema: ZodNode, key: string | undefined, inherited: DatumKind | undefined, out: Set<string>): void {
  const kind = datumKindOf(schema as unknown as z.ZodType) ?? inherited;
  const def = schema._zod.def;
  const wholeIsIdentifying = kind === 'identity' || kind === 'note';
  if (key !== undefined && wholeIsIdentifying) out.add(key);
  const inner = unwrapped(schema);
  if (inner) return collectIdentifying(inner, key, kind, out);
  switch (def.type) {
    case 'array':
      return collectIdentifying(def.element!, key, kind, out);
    case 'object':
      for (const [field, inner] of Object.entries(def.shape!)) collectIdentifying(inner, field, kind, out);
      return;
    default:
      if (key !== undefined && kind !== undefined && kind !== 'none' && isFreeText(def)) out.add(key);
  }
}
