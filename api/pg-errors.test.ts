import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, mayBeLostConnection } from './pg-errors';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
const wrapped = (cause: unknown) => new Error('Failed query: SELECT …', { cause });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['connection refused (server down)', withCode('ECONNREFUSED'), true],
    ['connection reset', withCode('ECONNRESET'), true],
    ['admin shutdown (pg_ctl stop)', withCode('57P01'), true],
    ['crash shutdown', withCode('57P02'), true],
    ['the database system is starting up', withCode('57P03'), true],
    ['too many connections', withCode('53300'), true],
    ['connection failure class 08', withCode('08006'), true],
    ['refused, wrapped by drizzle', wrapped(withCode('ECONNREFUSED')), true],
    ['a broken pipe (EPIPE looks like a SQLSTATE)', withCode('EPIPE'), true],
    ['a unique violation is the request’s fault', withCode('23505'), false],
    ['a unique violation, wrapped', wrapped(withCode('23505')), false],
    ['a statement timeout is not an outage', withCode('57014'), false],
    ['a plain error', new Error('boom'), false],
    ['not an error at all', 'ECONNREFUSED', false],
  ])('%s', (_, error, expected) => {
    expect(isDatabaseUnavailable(error)).toBe(expected);
  });
});

describe('mayBeLostConnection', () => {
  it.each([
    ['pg’s "Connection terminated unexpectedly" (a plain Error, no code)', new Error('Connection terminated unexpectedly'), true],
    ['the same, wrapped by drizzle', wrapped(new Error('Connection terminated')), true],
    ['a bug: TypeError', new TypeError('x is undefined'), false],
    ['a bug: RangeError, wrapped', wrapped(new RangeError('bad')), false],
    ['an answer from Postgres', wrapped(withCode('22003')), false],
  ])('%s', (_, error, expected) => {
    expect(mayBeLostConnection(error)).toBe(expected);
  });
});
