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
    const secrets = { STACK_SECRET_KEY: 'k'.repeat(40), STACK_INTERNAL_ADMIN_KEY: 'a'.repeat(40) };
    expect(loadConfig({ ...secrets, KAFKA_BROKERS: ' a:1, b:2 ,' }).KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });

  it.each([
    ['API_PORT', 'eighty', 'API_PORT'],
    ['API_PORT', '70000', 'API_PORT'],
    ['KAFKA_BROKERS', 'no-port', 'KAFKA_BROKERS'],
    ['CDC_SLOT', 'Bad-Slot', 'CDC_SLOT'],
    ['DATABASE_URL', 'not a url', 'DATABASE_URL'],
    ['STACK_SECRET_KEY', 'short', 'STACK_SECRET_KEY'],
    ['TRUST_PROXY', 'yes please', 'TRUST_PROXY'],
    ['TRUST_PROXY', '10.0.0.0/99', 'TRUST_PROXY'],
    ['LISTEN_HOST', 'every interface', 'LISTEN_HOST'],
    ['METRICS_TOKEN', 'short', 'METRICS_TOKEN'],
  ])('stops on a bad %s and names it', (name, value, named) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(named);
  });

  it('takes an empty METRICS_TOKEN (compose passes one through unset) as none', () => {
    expect(loadConfig({ METRICS_TOKEN: '' }).METRICS_TOKEN).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: 'a-metrics-token-of-some-length' }).METRICS_TOKEN).toBe('a-metrics-token-of-some-length');
  });

  it('listens on loopback unless told otherwise', () => {
    expect(loadConfig({}).LISTEN_HOST).toBe('127.0.0.1');
    expect(loadConfig({ LISTEN_HOST: '0.0.0.0' }).LISTEN_HOST).toBe('0.0.0.0');
  });

  it.each([
    ['false', false],
    ['true', 1],
    ['2', 2],
    ['10.0.0.0/8, loopback', ['10.0.0.0/8', 'loopback']],
  ])('reads TRUST_PROXY=%s as proxy-addr trust', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
  });
});

describe('secrets outside local development', () => {
  const elsewhere = { DATABASE_URL: 'postgres://stack:pw@db.internal:5432/stack', KAFKA_BROKERS: 'kafka:9092' };
  const ownSecrets = { STACK_SECRET_KEY: 'k'.repeat(40), STACK_INTERNAL_ADMIN_KEY: 'a'.repeat(40) };

  it('requires STACK_SECRET_KEY and STACK_INTERNAL_ADMIN_KEY when DATABASE_URL / KAFKA_BROKERS point elsewhere', () => {
    expect(() => loadConfig(elsewhere)).toThrow(/STACK_SECRET_KEY: must be set.*STACK_INTERNAL_ADMIN_KEY: must be set/);
    expect(() => loadConfig({ ...elsewhere, STACK_SECRET_KEY: ownSecrets.STACK_SECRET_KEY })).toThrow(/STACK_INTERNAL_ADMIN_KEY: must be set/);
    expect(loadConfig({ ...elsewhere, ...ownSecrets }).STACK_SECRET_KEY).toBe(ownSecrets.STACK_SECRET_KEY);
  });

  it('is as strict when only one of the two points elsewhere', () => {
    const local = localServiceEnv(localSettings());
    expect(() => loadConfig({ DATABASE_URL: local.DATABASE_URL, KAFKA_BROKERS: 'kafka:9092' })).toThrow('STACK_SECRET_KEY');
    expect(() => loadConfig({ DATABASE_URL: elsewhere.DATABASE_URL, KAFKA_BROKERS: local.KAFKA_BROKERS })).toThrow('STACK_SECRET_KEY');
    // Another database of the local cluster (tests use one each) is still local development.
    expect(() => loadConfig({ DATABASE_URL: local.DATABASE_URL!.replace(/\/stack$/, '/t_other'), KAFKA_BROKERS: local.KAFKA_BROKERS })).not.toThrow();
    // pg takes host/hostaddr/port from the query over the URL's: such a URL is not the local cluster.
    for (const override of ['host=db.prod.example', 'hostaddr=10.0.0.5', 'port=5433']) {
      expect(() => loadConfig({ DATABASE_URL: `${local.DATABASE_URL!}?${override}`, KAFKA_BROKERS: local.KAFKA_BROKERS })).toThrow('STACK_SECRET_KEY');
    }
  });

  it.each([
    ['STACK_SECRET_KEY', 'change-me-to-at-least-32-random-characters'],
    ['STACK_SECRET_KEY', 'local-development-secret-key-do-not-use-in-production'],
    ['STACK_INTERNAL_ADMIN_KEY', 'change-me-internal-admin-key'],
    ['STACK_INTERNAL_ADMIN_KEY', 'local-development-internal-admin-key'],
  ])('refuses the published placeholder of %s (%s)', (name, value) => {
    expect(() => loadConfig({ ...elsewhere, ...ownSecrets, [name]: value })).toThrow(new RegExp(`${name}: must be set to a secret of your own`));
  });
});
