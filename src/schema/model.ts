/**
 * How appreg describes an attribute: everything Terraform needs to know
 * (type, required/optional/computed, sensitive, description) plus what the
 * provider does with it at plan time (default, replacement, stable computed
 * values). The protocol schema, the cdktf bindings and the docs are all
 * derived from these descriptions; nothing else declares an attribute.
 */
import type { TfType, TfValue } from '../tfplugin/types';

/** One attribute of a resource, data source or the provider configuration. */
export interface AttributeSpec {
  /** Terraform type in its JSON form (`'string'`, `['set', 'string']`, ...). */
  readonly type: TfType;
  /** Markdown description, shown in docs and editor hovers. */
  readonly description: string;
  /** Exactly one of required, optional, or computed-only must describe the attribute; optional may be combined with computed. */
  readonly required?: boolean;
  readonly optional?: boolean;
  readonly computed?: boolean;
  /** Terraform hides the value in plans and output. */
  readonly sensitive?: boolean;
  /** A change to the value plans a replacement of the whole object (the plugin framework's RequiresReplace). */
  readonly requiresReplace?: boolean;
  /** For optional+computed attributes: the value planned when the configuration leaves it null. */
  readonly default?: TfValue;
  /**
   * For computed attributes that never change after create (ids, timestamps):
   * an update keeps the prior value in the plan instead of marking it unknown
   * (the plugin framework's UseStateForUnknown), so plans stay small and exact.
   */
  readonly stable?: boolean;
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
}

/** The whole provider: its configuration, its resources and its data sources. */
export interface ProviderSpec {
  readonly provider: TypeSpec;
  readonly resources: readonly TypeSpec[];
  readonly dataSources: readonly TypeSpec[];
}
