import { describe, expect, it } from 'vitest';
import { localServiceEnv, localSettings } from '../infra/local-settings';
import { ConfigError, loadConfig } from './env-config';

describe('environment config', () => {
  it('has defaults that point at the local services of the current profile', () => {
    const config = loadConfig({});
    const local = localServiceEnv(localSettings());
    expect(config.CDC_TOPIC_PREFIX).toBe('stack.cdc');
    expect(config.API_PORT).toBe(8102);
    expect(config.KAFKA_BROKERS).toEqual([local.KAFKA_BROKERS]);
    expect(config.DATABASE_URL).toBe(local.DATABASE_URL);
  });

  it('splits and trims broker lists', () => {
    expect(loadConfig({ KAFKA_BROKERS: ' a:1, b:2 ,' }).KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });

  it.each([
    ['API_PORT', 'eighty', 'API_PORT'],
    ['API_PORT', '70000', 'API_PORT'],
    ['KAFKA_BROKERS', 'no-port', 'KAFKA_BROKERS'],
    ['CDC_SLOT', 'Bad-Slot', 'CDC_SLOT'],
    ['DATABASE_URL', 'not a url', 'DATABASE_URL'],
    ['STACK_SECRET_KEY', 'short', 'STACK_SECRET_KEY'],
  ])('stops on a bad %s and names it', (name, value, named) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(named);
  });
});
