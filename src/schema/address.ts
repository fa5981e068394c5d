/**
 * Where Terraform finds the provider. Kept in the schema (not with the
 * protocol export in src/framework) because the docs and the bindings name the
 * provider too, and they need no protocol code for it.
 */

/** The provider's source address, as users write it in `required_providers`. */
export const PROVIDER_SOURCE = 'appreg/appreg';
/** The fully qualified address Terraform uses in schema output and reattach configs. */
export const PROVIDER_ADDRESS = `registry.terraform.io/${PROVIDER_SOURCE}`;
