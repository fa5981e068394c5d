/**
 * gRPC service definitions for `@grpc/grpc-js`, built from the generated
 * descriptor with the light build of protobufjs.
 *
 * `@grpc/proto-loader` would do the same, but it loads the full protobufjs
 * plus its descriptor extension and builds a FileDescriptorProto for every
 * message; measured here that costs about 35 ms more per provider start, and
 * Terraform starts the provider 3–4 times per command. Building the method
 * table by hand is the 20 lines below.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs/light';
import { descriptor } from './descriptor.generated';

/** How decoded messages look (see `wire.ts`). */
const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let root: protobuf.Root | undefined;

function getRoot(): protobuf.Root {
  root ??= protobuf.Root.fromJSON(descriptor);
  return root;
}

function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    const bytes = type.encode(type.fromObject(value)).finish();
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), TO_OBJECT);
}

const services = new Map<string, ServiceDefinition>();

/**
 * The definition of one service (`tfplugin6.Provider`, `plugin.GRPCController`,
 * `plugin.GRPCStdio`, `plugin.GRPCBroker`, `grpc.health.v1.Health`), usable
 * both by `Server.addService` and `makeGenericClientConstructor`.
 */
export function serviceDefinition(fullName: string): ServiceDefinition {
  const cached = services.get(fullName);
  if (cached) return cached;
  const service = getRoot().lookupService(fullName);
  const def: { [name: string]: MethodDefinition<object, object> } = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: serializer(req),
      requestDeserialize: deserializer(req),
      responseSerialize: serializer(res),
      responseDeserialize: deserializer(res),
      originalName: method.name,
    };
  }
  services.set(fullName, def);
  return def;
}

/** Encodes one message by its full name, e.g. `tfplugin6.Schema` (used by tests). */
export function encodeMessage(fullName: string, value: object): Buffer {
  return serializer(getRoot().lookupType(fullName))(value);
}

/** Decodes one message by its full name into the shape of `wire.ts` (used by tests). */
export function decodeMessage(fullName: string, bytes: Uint8Array): object {
  return deserializer(getRoot().lookupType(fullName))(Buffer.from(bytes));
}
