import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from './pg-errors';

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
    ['a unique violation is the request’s fault', withCode('23505'), false],
    ['a unique violation, wrapped', wrapped(withCode('23505')), false],
    ['a statement timeout is not an outage', withCode('57014'), false],
    ['a plain error', new Error('boom'), false],
    ['not an error at all', 'ECONNREFUSED', false],
  ])('%s', (_, error, expected) => {
    expect(isDatabaseUnavailable(error)).toBe(expected);
  });
});
