/**
 * Typed models inferred from the schema. A resource declares its attributes
 * once (`src/schema`, with `satisfies TypeSpec` so the literal types stay);
 * these types turn that declaration into the shape of its configuration,
 * plan and state, so `model.group_id` is a `string` where the schema says it
 * is a required string, and a resource needs no casts.
 *
 * The types make promises about values that come from Terraform, so
 * {@link asModel} checks them at run time before handing a value over: a
 * value that breaks the promise is a bug, reported as one, never a wrong
 * request to the service.
 */
import type { AttributeSpec, TypeSpec } from '../schema/model';
import { isUnknown, Unknown, type TfType, type TfValue } from '../tfplugin/types';
import type { State } from './state';

/** The TypeScript type of a known value of Terraform type `T`. */
export type ValueOf<T> =
  T extends Literal<infer V> ? V
  : T extends 'string' ? string
    : T extends 'number' ? number
      : T extends 'bool' ? boolean
        : T extends readonly ['set' | 'list', infer E] ? Array<ValueOf<E>>
          : T extends readonly ['map', infer E] ? { [key: string]: ValueOf<E> }
            : TfValue;

/** A value of type `T` that may be, or contain, values Terraform does not know yet. */
export type PartialValueOf<T> =
  T extends readonly ['set' | 'list', infer E] ? Array<PartialValueOf<E>> | Unknown
    : T extends readonly ['map', infer E] ? { [key: string]: PartialValueOf<E> } | Unknown
      : ValueOf<T> | Unknown;

type Attrs<S extends TypeSpec> = S['attributes'];
/** The type of an attribute, with a string's (or string set's) `values` as the element type. */
type TypeOfAttr<A> = A extends { readonly type: infer T; readonly values: readonly (infer V)[] }
  ? (T extends 'string' ? Literal<V> : T extends readonly [infer K, 'string'] ? readonly [K, Literal<V>] : T)
  : A extends { readonly type: infer T } ? T : never;
/** A string literal type standing for itself in {@link ValueOf}. */
interface Literal<V> { readonly literal: V }

/**
 * Whether the attribute always has a value once planned: required, or
 * optional and computed (the plan sets it: a default, the prior value, or
 * the resource's own planning).
 */
type AlwaysSet<A> = A extends { readonly required: true } ? true
  : A extends { readonly optional: true; readonly computed: true } ? true
    : A extends { readonly neverNull: true } ? true : false;
/** Whether only the provider sets the attribute. */
type ComputedOnly<A> = A extends { readonly required: true } ? false : A extends { readonly optional: true } ? false : true;

/** The planned value of a computed attribute that is never null: unknown until the provider sets it on create. */
type PlannedNeverNull<A, V> = A extends { readonly neverNull: true } ? V | Unknown : V;

/** A configuration or a plan being made: any value may be null or not known yet. */
export type ConfigModel<S extends TypeSpec> = { -readonly [K in keyof Attrs<S>]: PartialValueOf<TypeOfAttr<Attrs<S>[K]>> | null };

/** The state of an object as Terraform stores it: required and optional+computed attributes set, the rest possibly null. */
export type StateModel<S extends TypeSpec> = {
  -readonly [K in keyof Attrs<S>]: AlwaysSet<Attrs<S>[K]> extends true ? ValueOf<TypeOfAttr<Attrs<S>[K]>> : ValueOf<TypeOfAttr<Attrs<S>[K]>> | null;
};

/** A plan about to be applied: like the state, except that attributes only the provider sets may be unknown until it sets them. */
export type PlannedModel<S extends TypeSpec> = {
  -readonly [K in keyof Attrs<S>]: AlwaysSet<Attrs<S>[K]> extends true
    ? PlannedNeverNull<Attrs<S>[K], ValueOf<TypeOfAttr<Attrs<S>[K]>>>
    : ComputedOnly<Attrs<S>[K]> extends true
      ? ValueOf<TypeOfAttr<Attrs<S>[K]>> | null | Unknown
      : ValueOf<TypeOfAttr<Attrs<S>[K]>> | null;
};

/** Which of the shapes above a value is checked against. */
export type ModelPhase = 'config' | 'planned' | 'state';

/*
 * These checks run on every value Terraform hands a resource, a few thousand
 * times in a plan of a thousand objects: mostly before the JIT has compiled
 * them. Hence plain indexed loops, without array destructuring or callbacks
 * (each an iterator or a closure call in the interpreter), and per-spec facts
 * worked out once.
 */

/** Whether `v` is a known value of `type`; `partial` lets unknowns stand anywhere inside it. */
function conforms(type: TfType, v: TfValue, partial: boolean): boolean {
  if (isUnknown(v)) return partial;
  if (v === null) return partial;
  if (type === 'string') return typeof v === 'string';
  if (type === 'number') return typeof v === 'number';
  if (type === 'bool') return typeof v === 'boolean';
  if (type === 'dynamic') return true;
  const kind = type[0];
  if (kind === 'set' || kind === 'list') {
    if (!Array.isArray(v)) return false;
    // `every` skipped the holes of a sparse array; so does this.
    for (let i = 0; i < v.length; i++) if (i in v && !conforms(type[1], v[i]!, partial)) return false;
    return true;
  }
  if (kind === 'map') {
    if (typeof v !== 'object' || Array.isArray(v)) return false;
    const values = Object.values(v);
    for (let i = 0; i < values.length; i++) if (!conforms(type[1], values[i]!, partial)) return false;
    return true;
  }
  return true;
}

/** What the model checks need of one attribute, worked out once. */
interface AttributeFacts {
  name: string;
  spec: AttributeSpec;
  /** Required, optional+computed, or never null once the object exists. */
  alwaysSet: boolean;
  /** Neither required nor optional: only the provider sets it. */
  computedOnly: boolean;
}

/** Whether one attribute's value fits the model of `phase`. */
function attributeFits(a: AttributeFacts, v: TfValue | undefined, phase: ModelPhase): boolean {
  if (v === undefined) return false;
  const spec = a.spec;
  if (phase === 'config') return conforms(spec.type, v, true);
  if (v === null) return !a.alwaysSet;
  if (isUnknown(v)) return phase === 'planned' && a.computedOnly;
  // Collections in state and in an applied plan hold known elements only.
  if (!conforms(spec.type, v, false)) return false;
  const allowed = spec.values;
  if (allowed === undefined) return true;
  if (!Array.isArray(v)) return typeof v === 'string' && allowed.includes(v);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (i in v && (typeof x !== 'string' || !allowed.includes(x))) return false;
  }
  return true;
}

interface SpecFacts {
  entries: readonly (readonly [string, AttributeSpec])[];
  attributes: readonly AttributeFacts[];
}

const specFacts = new WeakMap<TypeSpec, SpecFacts>();

function factsOf(spec: TypeSpec): SpecFacts {
  let facts = specFacts.get(spec);
  if (!facts) {
    const entries = Object.entries(spec.attributes);
    facts = {
      entries,
      attributes: entries.map(([name, a]) => ({
        name,
        spec: a,
        alwaysSet: a.required === true || (a.optional === true && a.computed === true) || a.neverNull === true,
        computedOnly: !a.required && !a.optional,
      })),
    };
    specFacts.set(spec, facts);
  }
  return facts;
}

/**
 * A spec's attributes as [name, attribute] pairs in declaration order (what
 * `Object.entries(spec.attributes)` gives), worked out once per spec:
 * validation, planning and the model checks walk them on every call, and a
 * spec never changes.
 */
export function specAttributes(spec: TypeSpec): readonly (readonly [string, AttributeSpec])[] {
  return factsOf(spec).entries;
}

/** The attributes of `value` that do not fit the model of `phase`; empty when it fits. */
export function modelMismatches(spec: TypeSpec, value: State, phase: ModelPhase): string[] {
  const out: string[] = [];
  const attributes = factsOf(spec).attributes;
  for (let i = 0; i < attributes.length; i++) {
    const a = attributes[i]!;
    if (!attributeFits(a, value[a.name], phase)) out.push(a.name);
  }
  return out;
}

/**
 * The same object, typed as the model `M` of `spec` in `phase`, after
 * checking that it is one. Not a copy: a plan changed through the model is
 * the plan the provider returns.
 * @throws Error (a bug: Terraform or the provider broke its own schema) when an attribute does not fit
 */
export function asModel<M>(spec: TypeSpec, value: State, phase: ModelPhase): M {
  // The codec gives every attribute, null when unset; a hand-built state may leave some out.
  const attributes = factsOf(spec).attributes;
  for (let i = 0; i < attributes.length; i++) if (value[attributes[i]!.name] === undefined) value[attributes[i]!.name] = null;
  const wrong = modelMismatches(spec, value, phase);
  if (wrong.length > 0) {
    throw new Error(`the ${phase} of ${spec.typeName} does not fit its schema at ${wrong.join(', ')}`);
  }
  // Checked just above, attribute by attribute: the one place an untyped state becomes a model.
  return value as M;
}
