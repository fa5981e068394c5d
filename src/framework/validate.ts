/**
 * Generic plan-time validation: runs what the schema declares over a
 * resource's configuration, as pure functions.
 *
 * Each function returns every problem it finds (a user fixes them all in one
 * pass), each as a diagnostic naming the attribute. Values Terraform does not
 * know yet (computed from another resource) are skipped: they are checked
 * again when they are known, at apply, by the service itself.
 */
import { quote, type RuleCode, type RuleViolation } from '../rules';
import type { ResourceProblem, TypeSpec, ValidationFacts } from '../schema/model';
import type { AttributePath, Diagnostic, TfValue } from '../tfplugin/types';
import { specAttributes } from './model';

/** A resource configuration: every attribute of the schema, null when unset. */
export type ConfigObject = { readonly [attribute: string]: TfValue };

/** Whether a value is a known string (not null, not unknown). */
export const knownString = (v: TfValue | undefined): v is string => typeof v === 'string';

/** An error diagnostic on one attribute. */
export function attributeError(summary: string, detail: string, attribute: AttributePath): Diagnostic {
  return { severity: 'error', summary, detail, attribute };
}

/**
 * Turns a rule violation into a diagnostic. Terraform paths cannot point
 * into a set element, so an element's problem is reported on the set
 * attribute with the offending value in the detail.
 */
export function fromViolation(summary: string, v: Pick<RuleViolation, 'attribute' | 'index' | 'message'>, elements: readonly string[] = []): Diagnostic {
  const element = v.index === undefined ? undefined : elements[v.index];
  // quote() escapes CR, LF, U+2028, C1 controls and every other non-printable character, so a hostile value cannot break the message.
  const subject = element === undefined ? v.attribute : `${v.attribute} element ${quote(element)}`;
  return attributeError(summary, `${subject} ${v.message}.`, [v.attribute]);
}

/**
 * Runs the validators the schema declares, attribute by attribute in schema
 * order, on every value that is known. A set or list with elements not yet
 * known is checked with the validator's stand-ins in their place, so its
 * size is still checked.
 */
export function validateAttributes(spec: TypeSpec, config: ConfigObject): Diagnostic[] {
  const out: Diagnostic[] = [];
  const attributes = specAttributes(spec);
  for (let i = 0; i < attributes.length; i++) {
    const name = attributes[i]![0];
    const attr = attributes[i]![1];
    const validators = attr.validators;
    if (!validators) continue;
    const value = config[name];
    for (let v = 0; v < validators.length; v++) {
      const validator = validators[v]!;
      let checked: string | string[];
      if (knownString(value)) {
        checked = value;
      } else if (Array.isArray(value)) {
        const known = value.filter(knownString);
        const standIn = validator.standIn ?? ((i: number) => `unknown-${i}`);
        checked = known.length === value.length ? known : [...known, ...Array.from({ length: value.length - known.length }, (_, i) => standIn(i))];
      } else {
        continue;
      }
      const elements = typeof checked === 'string' ? [] : checked;
      const problems = validator.check(checked);
      for (let k = 0; k < problems.length; k++) {
        const p = problems[k]!;
        out.push(fromViolation(validator.summary, p.index === undefined ? { attribute: name, message: p.message } : { attribute: name, index: p.index, message: p.message }, elements));
      }
    }
  }
  return out;
}

/**
 * Attributes only the provider sets (computed, neither required nor optional)
 * must not be configured: Terraform would accept the value and the provider
 * would silently ignore it, so say so at plan time instead.
 */
export function validateReadOnly(spec: TypeSpec, config: ConfigObject): Diagnostic[] {
  const out: Diagnostic[] = [];
  const attributes = specAttributes(spec);
  for (let i = 0; i < attributes.length; i++) {
    const name = attributes[i]![0];
    const a = attributes[i]![1];
    if (a.computed && !a.optional && !a.required && config[name] !== null && config[name] !== undefined) {
      out.push(attributeError(
        'Invalid configuration for read-only attribute',
        `${name} is set by the provider and cannot be configured in ${spec.typeName}; remove it from the configuration.`,
        [name],
      ));
    }
  }
  return out;
}


/** A resource-level problem as a diagnostic: the same wording as {@link fromViolation}, the element named by value. */
function fromResourceProblem(summary: string, p: ResourceProblem): Diagnostic {
  // quote() escapes every non-printable character, so a hostile value cannot break the message.
  const subject = p.element === undefined ? p.attribute : `${p.attribute} element ${quote(p.element)}`;
  return attributeError(summary, `${subject} ${p.message}.`, [p.attribute]);
}

/**
 * Runs the resource-level validators the schema declares, in order.
 * @param only when given, just the violations of these rules (a rule that needs a fact, once it is known)
 */
export function validateResourceRules(spec: TypeSpec, config: ConfigObject, facts: ValidationFacts = {}, only?: readonly RuleCode[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const validator of spec.validators ?? []) {
    for (const p of validator.check(config, facts)) {
      if (only === undefined || only.includes(p.code)) out.push(fromResourceProblem(validator.summary(p.code), p));
    }
  }
  return out;
}

/**
 * Everything the schema declares for a configuration: the attribute
 * validators in schema order, then the resource-level validators.
 */
export function validateConfig(spec: TypeSpec, config: ConfigObject, facts: ValidationFacts = {}): Diagnostic[] {
  return [...validateAttributes(spec, config), ...validateResourceRules(spec, config, facts)];
}
