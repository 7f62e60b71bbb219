// Test support: what a kafkajs client in this process writes to a broker, as bytes on the socket
// and as the request objects they were encoded from.
import net from 'node:net';
import { Connection, type ProtocolRequest } from './kafkajs-protocol';

export interface Frame {
  apiKey: number;
  apiVersion: number;
  /** The request body after the header (size, api key and version, correlation id, client id). */
  payload: Buffer;
}

/** Copies every Buffer written to a socket connected to `port`, per socket, until disposed. */
export function captureWrites(port: number): { bySocket: Map<net.Socket, Buffer[]> } & Disposable {
  const bySocket = new Map<net.Socket, Buffer[]>();
  const { write } = net.Socket.prototype;
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]): boolean {
    const [chunk] = args;
    if (this.remotePort === port && Buffer.isBuffer(chunk)) {
      const chunks = bySocket.get(this) ?? [];
      chunks.push(Buffer.from(chunk));
      bySocket.set(this, chunks);
    }
    return Reflect.apply(write, this, args) as boolean;
  } as typeof write;
  return {
    bySocket,
    [Symbol.dispose]() {
      net.Socket.prototype.write = write;
    },
  };
}

/** Keeps every request kafkajs sends through any connection, until disposed. */
export function collectRequests(): { sent: ProtocolRequest[] } & Disposable {
  const sent: ProtocolRequest[] = [];
  const { send } = Connection.prototype;
  Connection.prototype.send = function (this: unknown, protocol: { request: ProtocolRequest }) {
    sent.push(protocol.request);
    return Reflect.apply(send, this, [protocol]) as Promise<unknown>;
  };
  return {
    sent,
    [Symbol.dispose]() {
      Connection.prototype.send = send;
    },
  };
}

/** Splits one socket's bytes into Kafka request frames; `trailing` counts bytes that are not a whole frame. */
export function parseFrames(bytes: Buffer): { frames: Frame[]; trailing: number } {
  const frames: Frame[] = [];
  let at = 0;
  while (at + 4 <= bytes.length) {
    const end = at + 4 + bytes.readInt32BE(at);
    if (end > bytes.length) break;
    const clientIdLength = bytes.readInt16BE(at + 12);
    frames.push({ apiKey: bytes.readInt16BE(at + 4), apiVersion: bytes.readInt16BE(at + 6), payload: bytes.subarray(at + 14 + Math.max(clientIdLength, 0), end) });
    at = end;
  }
  return { frames, trailing: bytes.length - at };
}
