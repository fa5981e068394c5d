/**
 * Terraform plugin protocol 6 for appreg: what a provider implementation
 * needs to be served, and the helpers it may use on values and schemas.
 *
 * Importing this module is cheap: gRPC and protobuf are loaded by
 * {@link serveProvider} only when it starts serving, msgpack on first use.
 */
export { serveProvider } from './serve';
export type { ServeOptions } from './serve';
export * from './types';
export { CodecError, formatPath, inferType, parseType, typeToJson } from './tftype';
export { decodeDynamicValue, decodeJsonValue, decodeMsgpack, encodeDynamicValue, encodeJsonValue, encodeMsgpack } from './codec';
export { blockFromWire, blockToWire, blockType, providerSchemaToWire, schemaFromWire, schemaToWire } from './schema';
export type { NestedBlockJson, NestingModeJson } from './schema';
export { bugDiagnostic, diagnosticFromWire, diagnosticToWire, hasErrors, pathFromWire, pathToWire } from './diagnostics';
export { conformsToPlan, isWhollyKnown, valueEquals } from './values';
