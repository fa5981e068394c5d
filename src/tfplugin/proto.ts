/**
 * gRPC service definitions for `@grpc/grpc-js`, built from the generated
 * descriptor with the light build of protobufjs.
 *
 * `@grpc/proto-loader` would do the same, but it loads the full protobufjs
 * plus its descriptor extension and builds a FileDescriptorProto for every
 * message; measured here that costs about 35 ms more per provider start, and
 * Terraform starts the provider 3–4 times per command. Building the method
 * table by hand is the 20 lines below.
 *
 * Start-up goes further: a service definition is made from the descriptor's
 * plain JSON (method names and streaming flags) without protobufjs, and each
 * method's (de)serializer resolves its message type on first use. So the
 * gRPC server can listen, and the handshake line go out, before protobufjs
 * is even loaded; {@link preloadMessageTypes} loads it right after.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type * as protobufTypes from 'protobufjs/light';
import { descriptor } from './descriptor.generated';

/** How decoded messages look (see `wire.ts`). */
const TO_OBJECT: protobufTypes.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let root: protobufTypes.Root | undefined;

function getRoot(): protobufTypes.Root {
  if (!root) {
    const protobuf = require('protobufjs/light') as typeof protobufTypes;
    root = protobuf.Root.fromJSON(descriptor);
  }
  return root;
}

function serializer(type: protobufTypes.Type): (value: object) => Buffer {
  return (value) => {
    const bytes = type.encode(type.fromObject(value)).finish();
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(type: protobufTypes.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), TO_OBJECT);
}

/** A method as the descriptor JSON has it (protobufjs's `IMethod`, the part used here). */
interface MethodJson {
  requestStream?: boolean;
  responseStream?: boolean;
}

/** The methods of a service, read from the descriptor JSON by the service's full name. */
function methodsJson(fullName: string): Record<string, MethodJson> {
  let node: { nested?: Record<string, unknown>; methods?: Record<string, MethodJson> } | undefined = descriptor;
  for (const part of fullName.split('.')) node = node?.nested?.[part] as typeof node;
  if (!node?.methods) throw new Error(`the protocol descriptor has no service ${fullName} (a bug in the provider's protocol layer)`);
  return node.methods;
}

/** The resolved request and response types of one method (loads protobufjs on first use). */
function methodTypes(fullName: string, methodName: string): { req: protobufTypes.Type; res: protobufTypes.Type } {
  const method = getRoot().lookupService(fullName).methods[methodName]!;
  method.resolve();
  return { req: method.resolvedRequestType!, res: method.resolvedResponseType! };
}

/** A function that builds its implementation on first call. */
function lazy<A, R>(make: () => (arg: A) => R): (arg: A) => R {
  let fn: ((arg: A) => R) | undefined;
  return (arg) => (fn ??= make())(arg);
}

const services = new Map<string, ServiceDefinition>();

/**
 * The definition of one service (`tfplugin6.Provider`, `plugin.GRPCController`,
 * `plugin.GRPCStdio`, `plugin.GRPCBroker`, `grpc.health.v1.Health`), usable
 * both by `Server.addService` and `makeGenericClientConstructor`. Cheap: no
 * protobufjs until a message is encoded or decoded.
 */
export function serviceDefinition(fullName: string): ServiceDefinition {
  const cached = services.get(fullName);
  if (cached) return cached;
  const def: { [name: string]: MethodDefinition<object, object> } = {};
  for (const [name, method] of Object.entries(methodsJson(fullName))) {
    let types: { req: protobufTypes.Type; res: protobufTypes.Type } | undefined;
    const resolved = (): { req: protobufTypes.Type; res: protobufTypes.Type } => (types ??= methodTypes(fullName, name));
    def[name] = {
      path: `/${fullName}/${name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: lazy(() => serializer(resolved().req)),
      requestDeserialize: lazy(() => deserializer(resolved().req)),
      responseSerialize: lazy(() => serializer(resolved().res)),
      responseDeserialize: lazy(() => deserializer(resolved().res)),
      originalName: name,
    };
  }
  services.set(fullName, def);
  return def;
}

/**
 * Loads protobufjs and resolves every method's message types of the given
 * services, so the first RPC does not pay for it. Meant for right after the
 * handshake line, while Terraform is still connecting.
 */
export function preloadMessageTypes(fullNames: readonly string[]): void {
  for (const fullName of fullNames) {
    for (const method of Object.values(serviceDefinition(fullName))) {
      // A throwaway encode of an empty message resolves and code-generates both directions' types.
      method.responseSerialize({});
      method.requestDeserialize(Buffer.alloc(0));
    }
  }
}

/** Encodes one message by its full name, e.g. `tfplugin6.Schema` (used by tests). */
export function encodeMessage(fullName: string, value: object): Buffer {
  return serializer(getRoot().lookupType(fullName))(value);
}

/** Decodes one message by its full name into the shape of `wire.ts` (used by tests). */
export function decodeMessage(fullName: string, bytes: Uint8Array): object {
  return deserializer(getRoot().lookupType(fullName))(Buffer.from(bytes));
}
