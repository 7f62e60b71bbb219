import { describe, expect, it } from 'vitest';
import { findInexactNumber, isExactAsDouble } from './json-number-precision';

describe('numbers a double keeps exactly', () => {
  it.each(['0', '-0', '1', '-42', '9007199254740991', '-9007199254740991', '9007199254740992', '0.1', '1.10', '3.14159', '1e21', '1.5e300', '1E-7', '123.456e2', '0.000', '5e-324', '1.7976931348623157e308'])(
    'keeps %s',
    (literal) => expect(isExactAsDouble(literal)).toBe(true),
  );

  it.each(['9007199254740993', '-9007199254740993', '12345678901234567890', '0.30000000000000000001', '1e400', '-1e400', '1e-400', '3.141592653589793238'])(
    'refuses %s',
    (literal) => expect(isExactAsDouble(literal)).toBe(false),
  );
});

describe('finding an inexact number in JSON text', () => {
  it('names the field that holds it', () => {
    expect(findInexactNumber('{"client_metadata":{"big":9007199254740993}}')).toEqual({ path: 'client_metadata.big', literal: '9007199254740993' });
    expect(findInexactNumber('{"a":[1, 2, {"b": [0, 1e999]}]}')).toEqual({ path: 'a.2.b.1', literal: '1e999' });
    expect(findInexactNumber('{"k\\"ey":{"x\\u00e9": -12345678901234567890}}')).toEqual({ path: 'k"ey.xé', literal: '-12345678901234567890' });
    expect(findInexactNumber('12345678901234567890')).toEqual({ path: '(body)', literal: '12345678901234567890' });
  });

  it('ignores digits inside strings and keys, and exact numbers', () => {
    expect(findInexactNumber('{"9007199254740993": "9007199254740993", "n": 9007199254740991, "f": 0.5, "t": true, "z": null}')).toBeUndefined();
    expect(findInexactNumber(' [ ] ')).toBeUndefined();
  });
});
