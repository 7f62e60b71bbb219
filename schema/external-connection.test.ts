import { describe, expect, it } from 'vitest';
import { parseConnectionString, redactedConnectionString } from './external-connection';

function accepted(raw: string) {
  const parsed = parseConnectionString(raw);
  if (!parsed.ok) throw new Error(`refused ${raw}: ${parsed.problem}`);
  return parsed.connection;
}

function problemOf(raw: string): string {
  const parsed = parseConnectionString(raw);
  if (parsed.ok) throw new Error(`accepted ${raw}`);
  return parsed.problem;
}

describe('parseConnectionString', () => {
  it.each([
    ['postgres://app:secret@db.example.com:6543/appdb', { host: 'db.example.com', port: 6543, database: 'appdb', user: 'app', password: 'secret' }],
    ['postgresql://app@db.example.com/appdb', { host: 'db.example.com', port: 5432, database: 'appdb', user: 'app' }],
    ['postgres://app:p%40ss%2Fw@203.0.113.9/app%20db?sslmode=verify-full', { host: '203.0.113.9', database: 'app db', password: 'p@ss/w', sslmode: 'verify-full' }],
    ['postgres://app@[2001:db8::1]:5433/app', { host: '2001:db8::1', port: 5433 }],
    ['postgres://app@DB.Example.COM./app', { host: 'db.example.com' }],
    ['postgres://app@db.example.com/app?password=s3cret&application_name=sync', { password: 's3cret', applicationName: 'sync' }],
    ['postgres://app@db.example.com/app?options=-c%20search_path%3Dtenant_1', { searchPath: 'tenant_1' }],
    ['postgres://app@db.example.com/app?options=-c+search_path=a,b&connect_timeout=10', { searchPath: 'a,b' }],
    ['postgres://app@db.example.com/app?sslmode=require&channel_binding=require', { sslmode: 'require', channelBinding: true }],
  ])('accepts %s', (raw, expected) => {
    expect(accepted(raw)).toMatchObject(expected);
  });

  // Each of these reached beyond the tenant's database through pg's own parser.
  it.each([
    ['postgres://u@h/db?host=/var/run/postgresql', 'parameter "host" is not allowed'],
    ['postgres://u@h/db?hostaddr=127.0.0.1', 'parameter "hostaddr" is not allowed'],
    ['postgres://u@h/db?sslcert=/etc/passwd', 'parameter "sslcert" is not allowed'],
    ['postgres://u@h/db?sslkey=/proc/self/environ', 'parameter "sslkey" is not allowed'],
    ['postgres://u@h/db?sslrootcert=/etc/shadow', 'parameter "sslrootcert" is not allowed'],
    ['postgres://u@h/db?sslcrl=/x', 'parameter "sslcrl" is not allowed'],
    ['postgres://u@h/db?service=internal', 'parameter "service" is not allowed'],
    ['postgres://u@h/db?passfile=/root/.pgpass', 'parameter "passfile" is not allowed'],
    ['postgres://u@h/db?port=54320', 'parameter "port" is not allowed'],
    ['postgres://u@h/db?ssl=true', 'parameter "ssl" is not allowed'],
    ['postgres://u@h/db?replication=database', 'parameter "replication" is not allowed'],
    ['postgres://u@%2Fvar%2Frun%2Fpostgresql/db', 'no socket paths'],
    ['postgres://u@/db', 'no socket paths'],
    ['postgres://u@h1,h2/db', 'one host only'],
    ['postgres://u@h1:5432,h2:5432/db', 'one host only'],
    ['postgres://u@h:99999/db', 'port must be between 1 and 65535'],
    ['postgres://u@h:0/db', 'port must be between 1 and 65535'],
    ['postgres://h/db', 'must name a user'],
    ['postgres://u@h', 'must name a database'],
    ['postgres://u@h/', 'must name a database'],
    ['postgres://u@h/db?options=-c%20role%3Dpostgres', 'options may only set search_path'],
    ['postgres://u@h/db?options=-c%20search_path%3Dx%3B%20drop', 'options may only set search_path'],
    ['postgres://u@h/db?sslmode=allow-everything', 'sslmode must be one of'],
    ['postgres://u@h/db?sslmode=require&sslmode=disable', 'given twice'],
    ['postgres://u:a@h/db?password=b', 'password is given twice'],
    ['postgres://u@h/db#frag', 'fragment'],
    ['mysql://u@h/db', 'must be a postgres:// or postgresql:// URL'],
    ['postgres://u@h/db?application_name=%00', 'application_name'],
    ['postgres://u%ZZ@h/db', 'must name a user'],
    ['postgres://u%00x@h/db', 'control characters'],
    ['postgres://u@h/db%00', 'control characters'],
    ['postgres://u@h/db?channel_binding=maybe', 'channel_binding must be'],
  ])('refuses %s', (raw, problem) => {
    expect(problemOf(raw)).toContain(problem);
  });
});

describe('redactedConnectionString', () => {
  it('masks the password wherever it was given, and shows where the sink connects', () => {
    expect(redactedConnectionString(accepted('postgres://app:secret@db.example.com/app'))).toBe('postgres://app:********@db.example.com:5432/app');
    const fromQuery = redactedConnectionString(accepted('postgres://app@db.example.com:6000/app?password=secret&sslmode=require'));
    expect(fromQuery).toBe('postgres://app:********@db.example.com:6000/app?sslmode=require');
    expect(fromQuery).not.toContain('secret');
    expect(redactedConnectionString(accepted('postgres://app@[2001:db8::1]/app?options=-c%20search_path%3Dt1'))).toBe(
      'postgres://app@[2001:db8::1]:5432/app?options=-c+search_path%3Dt1',
    );
  });
});
