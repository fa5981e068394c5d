/**
 * How appreg describes an attribute: everything Terraform needs to know
 * (type, required/optional/computed, sensitive, description) plus what the
 * provider does with it at plan time (default, replacement, prior computed
 * values kept). The protocol schema, the cdktf bindings and the docs are all
 * derived from these descriptions; nothing else declares an attribute.
 */

import type { RuleCode } from '../rules';

/**
 * An attribute's type in the JSON form infrastructure-as-code tools use
 * (`'string'`, `['set', 'string']`, ...). Declared here rather than taken
 * from the protocol layer so the schema stays protocol-neutral: the
 * registration service reads it too. Terraform's own type has the same shape.
 */
export type AttributeType =
  | 'string'
  | 'number'
  | 'bool'
  | 'dynamic'
  | readonly ['list', AttributeType]
  | readonly ['set', AttributeType]
  | readonly ['map', AttributeType]
  | readonly ['object', { readonly [name: string]: AttributeType }]
  | readonly ['tuple', readonly AttributeType[]];

/** A plain JSON value (a default). */
export type JsonValue = null | string | number | boolean | JsonValue[] | { [key: string]: JsonValue };

/** A problem a validator found in a value: what is wrong, and in which element of a set or list. */
export interface ValidatorProblem {
  /** What is wrong and what to do, one sentence without the attribute name and without a final period. */
  readonly message: string;
  /** The element, for a set or list. */
  readonly index?: number;
}

/**
 * A plan-time check of one attribute's value, built from a rule of
 * src/rules. Its description says the rule in words for the docs.
 */
export interface AttributeValidator {
  /** Which rule this is. */
  readonly code: RuleCode;
  /** The summary of the diagnostic when the rule fails. */
  readonly summary: string;
  /** The rule in words (markdown), part of the attribute's description. */
  readonly description: string;
  /** Checks a known string, or every element of a set or list of strings. */
  check(value: string | readonly string[]): readonly ValidatorProblem[];
  /**
   * For a set or list: a value that passes this rule, standing in for the
   * i-th element not known yet, so the count is checked but no unknown fails.
   */
  standIn?(i: number): string;
}

/**
 * Facts from the service that some resource-level rules need (the tenant's
 * settings). A rule whose fact is missing is skipped: the service checks it
 * again at apply.
 */
export interface ValidationFacts {
  /** False when the tenant uses SSO (no device grant). */
  readonly deviceGrantAllowed?: boolean;
}

/**
 * A configuration as a resource-level validator sees it: every attribute,
 * null when unset. A value not known yet is neither a string, a boolean nor
 * an array of them, so a validator that only looks at those never trips on it.
 */
export type ConfigView = { readonly [attribute: string]: unknown };

/** A problem a resource-level validator found: which rule, on which attribute, and the offending set element if any. */
export interface ResourceProblem {
  /** Which rule failed; its summary is the validator's {@link ResourceValidator.summary}. */
  readonly code: RuleCode;
  /** The attribute the diagnostic points at. */
  readonly attribute: string;
  /** What is wrong and what to do, one sentence without the attribute name and without a final period. */
  readonly message: string;
  /**
   * The offending element of a set, by value: Terraform paths cannot point
   * into a set element, so it is named in the detail instead.
   */
  readonly element?: string;
}

/**
 * A plan-time check across attributes of one resource (public client ⇒
 * PKCE), built from rules of src/rules and identified by their codes, so a
 * caller may run only some of them (the one that needs a fact of the
 * service, once that fact is known).
 */
export interface ResourceValidator {
  /** The rules it checks. */
  readonly codes: readonly RuleCode[];
  /** The summary of the diagnostic when a rule fails. */
  summary(code: RuleCode): string;
  /** Every problem in a configuration, in the rules' order. */
  check(config: ConfigView, facts: ValidationFacts): readonly ResourceProblem[];
}

/** One attribute of a resource, data source or the provider configuration. */
export interface AttributeSpec {
  /** Terraform type in its JSON form (`'string'`, `['set', 'string']`, ...). */
  readonly type: AttributeType;
  /**
   * The values a string may take, or each element of a set of strings. The
   * typed model of the attribute is their union; the plan-time check that a
   * configuration keeps to them is the resource's, with its own message.
   */
  readonly values?: readonly string[];
  /** Plan-time checks of the value, run in order whenever it is known. */
  readonly validators?: readonly AttributeValidator[];
  /** Markdown description, shown in docs and editor hovers. */
  readonly description: string;
  /** Exactly one of required, optional, or computed-only must describe the attribute; optional may be combined with computed. */
  readonly required?: boolean;
  readonly optional?: boolean;
  readonly computed?: boolean;
  /**
   * For computed attributes: once the object exists the value is never null
   * (an id, a timestamp, a counter). The typed state model then has no null.
   */
  readonly neverNull?: boolean;
  /**
   * Kept only by the infrastructure-as-code side (triggers, a secret from
   * create): the registration service has no such field, so it never goes
   * into a request body.
   */
  readonly stateOnly?: boolean;
  /**
   * The service takes the value in the request path (the owning group of
   * `POST /v1/groups/{group_id}/apps`), so it is in no request body.
   */
  readonly inRequestPath?: boolean;
  /** Terraform hides the value in plans and output. */
  readonly sensitive?: boolean;
  /** A change to the value plans a replacement of the whole object (the plugin framework's RequiresReplace). */
  readonly requiresReplace?: boolean;
  /** For optional+computed attributes: the value planned when the configuration leaves it null. */
  readonly default?: JsonValue;
  /**
   * For computed attributes: when an update leaves the attribute to the
   * provider, the plan keeps the prior value instead of marking it unknown
   * (the plugin framework's UseStateForUnknown), so plans stay small and
   * exact. A resource's own planning may still mark it unknown (a rotated
   * secret). Without it, an update plans the value as known after apply.
   */
  readonly useStateForUnknown?: boolean;
}

/** A resource or data source type. */
export interface TypeSpec {
  /** The Terraform type name, e.g. `appreg_oauth_client`. */
  readonly typeName: string;
  /** Schema version; bump it together with an upgrade path in UpgradeResourceState. */
  readonly version: number;
  /** Markdown description of the type. */
  readonly description: string;
  readonly attributes: { readonly [name: string]: AttributeSpec };
  /** Plan-time checks across attributes, run after the attribute validators, in order. */
  readonly validators?: readonly ResourceValidator[];
}

/** The whole provider: its configuration, its resources and its data sources. */
export interface ProviderSpec {
  readonly provider: TypeSpec;
  readonly resources: readonly TypeSpec[];
  readonly dataSources: readonly TypeSpec[];
}

type AttributesOf<S extends TypeSpec> = S['attributes'];

/**
 * Names of the attributes a configuration may change without replacing the
 * object: required or optional, and no `requiresReplace`.
 */
export type InPlaceAttributes<S extends TypeSpec> = {
  [K in keyof AttributesOf<S>]: AttributesOf<S>[K] extends { readonly requiresReplace: true }
    ? never
    : AttributesOf<S>[K] extends { readonly required: true } | { readonly optional: true } ? K : never;
}[keyof AttributesOf<S>];

/** Names of the service's fields an update may change: in-place attributes that are not state-only. */
export type UpdatableFields<S extends TypeSpec> = {
  [K in InPlaceAttributes<S>]: AttributesOf<S>[K] extends { readonly stateOnly: true } ? never : K;
}[InPlaceAttributes<S>] & string;

/** Whether an attribute is one of {@link UpdatableFields}; the run-time twin of that type. */
export function isUpdatableField(a: AttributeSpec): boolean {
  return (a.required === true || a.optional === true) && a.requiresReplace !== true && a.stateOnly !== true;
}

/** The {@link UpdatableFields} of a type, in schema order: the fields its update request may carry. */
export function updatableFields<const S extends TypeSpec>(spec: S): ReadonlyArray<UpdatableFields<S>> {
  const names = Object.keys(spec.attributes).filter((name) => isUpdatableField(spec.attributes[name]!));
  // The filter is the type's own condition, attribute by attribute.
  return names as Array<UpdatableFields<S>>;
}

/**
 * Names of the service's fields a create request body carries: the attributes
 * a configuration sets (required or optional) that the service has (not
 * state-only) and does not take in the request path.
 */
export type CreateFields<S extends TypeSpec> = {
  [K in keyof AttributesOf<S>]: AttributesOf<S>[K] extends { readonly required: true } | { readonly optional: true }
    ? AttributesOf<S>[K] extends { readonly stateOnly: true } | { readonly inRequestPath: true } ? never : K
    : never;
}[keyof AttributesOf<S>] & string;

/** The {@link CreateFields} a create request must carry: the required attributes. */
export type RequiredCreateFields<S extends TypeSpec> = {
  [K in CreateFields<S>]: AttributesOf<S>[K] extends { readonly required: true } ? K : never;
}[CreateFields<S>];

/** Whether an attribute is one of {@link CreateFields}; the run-time twin of that type. */
export function isCreateField(a: AttributeSpec): boolean {
  return (a.required === true || a.optional === true) && a.stateOnly !== true && a.inRequestPath !== true;
}

/** The {@link CreateFields} of a type, in schema order: the fields its create request may carry. */
export function createFields<const S extends TypeSpec>(spec: S): ReadonlyArray<CreateFields<S>> {
  const names = Object.keys(spec.attributes).filter((name) => isCreateField(spec.attributes[name]!));
  // The filter is the type's own condition, attribute by attribute.
  return names as Array<CreateFields<S>>;
}

/**
 * The JSON value of an attribute in a request body, as a TypeScript type:
 * booleans, numbers, strings and lists of strings, narrowed to `values` where
 * the attribute lists them. Only the types request bodies use are mapped.
 */
export type BodyValueOf<A> =
  A extends { readonly type: 'bool' } ? boolean
    : A extends { readonly type: 'number' } ? number
      : A extends { readonly type: readonly ['set' | 'list', 'string']; readonly values: readonly (infer V extends string)[] } ? V[]
        : A extends { readonly type: readonly ['set' | 'list', 'string'] } ? string[]
          : A extends { readonly type: 'string'; readonly values: readonly (infer V extends string)[] } ? V
            : A extends { readonly type: 'string' } ? string
              : never;

/**
 * An optional attribute the provider does not compute may be sent as null
 * (no description); an optional+computed one is left out instead, and the
 * service fills in its default.
 */
type NullWhenClearable<A> = A extends { readonly optional: true; readonly computed: true } ? never : A extends { readonly optional: true } ? null : never;

/**
 * The create request body of a type: every {@link CreateFields} field, the
 * required ones present, each typed from its attribute.
 */
export type CreateInputOf<S extends TypeSpec> = {
  [K in RequiredCreateFields<S>]: BodyValueOf<AttributesOf<S>[K]>;
} & {
  [K in Exclude<CreateFields<S>, RequiredCreateFields<S>>]?: BodyValueOf<AttributesOf<S>[K]> | NullWhenClearable<AttributesOf<S>[K]>;
};
