/**
 * Generic planning from the schema, as the plugin framework does it:
 * defaults for unset optional+computed attributes, unknown computed values on
 * create, prior values kept on update where the schema says
 * `useStateForUnknown`, and the attributes whose change
 * forces a replacement.
 */
import type { TypeSpec } from '../schema/model';
import type { State } from './state';
import { valuesEqual } from './values';
import { specAttributes } from './model';
import { Unknown, type AttributePath } from '../tfplugin/types';

/** A generic plan: the planned state and the attributes that force a replacement. */
export interface GenericPlan {
  planned: State;
  requiresReplace: AttributePath[];
}

/**
 * Plans a create (prior null) or an update from Terraform's proposed new
 * state, which already holds the configuration and, for unset computed
 * attributes, the prior values.
 */
export function planFromSpec(spec: TypeSpec, prior: State | null, proposed: State, config: State): GenericPlan {
  const planned: State = { ...proposed };
  const attributes = specAttributes(spec);
  for (let i = 0; i < attributes.length; i++) {
    const name = attributes[i]![0];
    const attr = attributes[i]![1];
    if (!attr.computed) continue;
    const configured = attr.optional && config[name] !== null && config[name] !== undefined;
    if (configured) continue;
    if (attr.optional && attr.default !== undefined) {
      // Removing the attribute from the configuration goes back to the default,
      // rather than silently keeping whatever was set before.
      planned[name] = attr.default;
    } else if (prior !== null && attr.useStateForUnknown) {
      planned[name] = prior[name] ?? null;
    } else {
      planned[name] = Unknown.value;
    }
  }
  const requiresReplace: AttributePath[] = [];
  if (prior !== null) {
    for (let i = 0; i < attributes.length; i++) {
      const name = attributes[i]![0];
      const attr = attributes[i]![1];
      if (attr.requiresReplace && !valuesEqual(attr.type, planned[name], prior[name])) requiresReplace.push([name]);
    }
  }
  return { planned, requiresReplace };
}
