import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeLocalServices, localServicesStatus, upLocalServices } from './local-services';
import { localSettings } from './local-settings';

function pids(services: ReturnType<typeof describeLocalServices>): string[] {
  return [
    readFileSync(path.join(services.kafka.dataDir, 'kafka.pid'), 'utf8').trim(),
    readFileSync(path.join(services.internal.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!,
    readFileSync(path.join(services.external.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!,
  ];
}

describe('local services (infra:up)', () => {
  it('a second up while everything runs is a no-op', async () => {
    const services = describeLocalServices(localSettings({ ...process.env, STACK_SYNC_PROFILE: 'test' }));
    expect(await localServicesStatus(services)).toEqual({ 'postgres-internal': true, 'postgres-external': true, kafka: true });
    const before = pids(services);
    await upLocalServices(services);
    expect(pids(services)).toEqual(before);
  });

  it('keeps the test profile apart from the dev profile', () => {
    const dev = localSettings({ STACK_SYNC_PROFILE: 'dev' });
    const test = localSettings({ STACK_SYNC_PROFILE: 'test' });
    expect(new Set([dev.internalPostgresPort, dev.externalPostgresPort, dev.kafkaPort, test.internalPostgresPort, test.externalPostgresPort, test.kafkaPort]).size).toBe(6);
    expect(dev.dataDir).not.toBe(test.dataDir);
  });

  it('moves every port by STACK_SYNC_PORT_OFFSET, so two checkouts can run side by side', () => {
    const base = localSettings({ STACK_SYNC_PROFILE: 'test' });
    const moved = localSettings({ STACK_SYNC_PROFILE: 'test', STACK_SYNC_PORT_OFFSET: '2000' });
    expect([moved.internalPostgresPort, moved.externalPostgresPort, moved.kafkaPort, moved.kafkaControllerPort]).toEqual([
      base.internalPostgresPort + 2000,
      base.externalPostgresPort + 2000,
      base.kafkaPort + 2000,
      base.kafkaControllerPort + 2000,
    ]);
  });
});
