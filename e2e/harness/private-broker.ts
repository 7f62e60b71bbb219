import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureBroker, stopBroker, type KafkaBrokerSpec } from '../../infra/kafka-broker';

/** A loopback port nobody listens on now (the OS picks it). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A Kafka broker of one test's own, for outages: stopping or killing the shared test broker would
 * break every other test running beside it. Same jars and settings as the shared one.
 */
export class PrivateBroker {
  private constructor(readonly spec: KafkaBrokerSpec) {}

  static async create(): Promise<PrivateBroker> {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'stack-sync-broker-'));
    return new PrivateBroker({ dataDir, port: await unusedPort(), controllerPort: await unusedPort() });
  }

  get brokers(): string {
    return `127.0.0.1:${this.spec.port}`;
  }

  /** Starts it (formatting storage the first time) and waits until it answers metadata requests. */
  start(): Promise<void> {
    return ensureBroker(this.spec);
  }

  stop(): Promise<boolean> {
    return stopBroker(this.spec);
  }

  /**
   * Bytes in a partition's log files: grows with every record the broker took, committed or not
   * (an open Kafka transaction's records are in the log before its commit marker).
   */
  async partitionLogBytes(topic: string, partition = 0): Promise<number> {
    const directory = path.join(this.spec.dataDir, 'logs', `${topic}-${partition}`);
    const files = await fs.readdir(directory).catch(() => [] as string[]);
    let bytes = 0;
    for (const file of files) if (file.endsWith('.log')) bytes += (await fs.stat(path.join(directory, file)).catch(() => ({ size: 0 }))).size;
    return bytes;
  }

  /** SIGKILL: no clean shutdown, in the middle of whatever Kafka transaction is open. */
  kill(): Promise<boolean> {
    return stopBroker(this.spec, 'SIGKILL');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop().catch(() => undefined);
    await fs.rm(this.spec.dataDir, { recursive: true, force: true });
  }
}
