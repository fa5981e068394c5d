/**
 * What every appreg resource shares, one of each: diagnostics and their
 * error type, attribute paths as data, private state, value equality, the
 * protocol schema, planning and validation from the schema's declarations. It
 * sits between the protocol (`src/tfplugin`) and the resources
 * (`src/resources`), and knows nothing of OAuth.
 */
export * from './diagnostics';
export * from './paths';
export * from './private';
export * from './state';
export * from './values';
export * from './model';
export * from './resource';
export * from './export';
export * from './plan';
export * from './validate';
