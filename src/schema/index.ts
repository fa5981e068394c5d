/**
 * The appreg schema: the one description of every attribute, with its
 * validators and plan modifiers. It imports nothing of the protocol: the
 * protocol schema, planning and the generic validation that read it live in
 * src/framework.
 */
export * from './model';
export * from './definitions';
export * from './address';
