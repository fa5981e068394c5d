/**
 * The appreg schema: the one description of every attribute, Terraform's JSON
 * view of it, and plan-time validation.
 */
export * from './model';
export * from './definitions';
export * from './export';
export * from './validate';
