// Typed handles on the parts of kafkajs's own protocol code (plain JavaScript, not exported by the
// package's typings) that the dependency-patch tests drive directly.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface KafkaEncoder {
  /** The written bytes: a view of the encoder's buffer up to its offset. */
  readonly buffer: Buffer;
}

/** One request at one version, as kafkajs builds it before framing. */
export interface ProtocolRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  encode(): Promise<KafkaEncoder>;
}

/** `src/protocol/requests/<name>/index.js`: the versions kafkajs implements, by number. */
export interface RequestDefinitions {
  versions: string[];
  protocol(options: { version: number }): (args: object) => { request: ProtocolRequest };
}

/** Frames a request as it goes on the socket: size, api key and version, correlation id, client id, payload. */
export type FrameRequest = (options: { correlationId: number; clientId: string; request: ProtocolRequest }) => Promise<KafkaEncoder>;

interface ConnectionClass {
  prototype: { send(protocol: { request: ProtocolRequest }): Promise<unknown> };
}

export const frameRequest = require('kafkajs/src/protocol/request.js') as FrameRequest;
export const { requests } = require('kafkajs/src/protocol/requests/index.js') as { requests: Record<string, RequestDefinitions> };
export const apiKeys = require('kafkajs/src/protocol/requests/apiKeys.js') as Record<string, number>;
export const Encoder = require('kafkajs/src/protocol/encoder.js') as new (initialSize?: number) => KafkaEncoder;
/** The class every request to a broker passes through (`send`), whichever client part sends it. */
export const Connection = require('kafkajs/src/network/connection.js') as ConnectionClass;

export const { Types: CompressionTypes } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number; GZIP: number } };

/** The request definitions of one API, by the name kafkajs gives it. */
export function requestDefinitions(apiName: string): RequestDefinitions {
  const definitions = requests[apiName];
  if (!definitions) throw new Error(`kafkajs has no request named ${apiName}`);
  return definitions;
}

export function apiName(apiKey: number): string {
  return Object.keys(apiKeys).find((name) => apiKeys[name] === apiKey) ?? `api ${apiKey}`;
}
