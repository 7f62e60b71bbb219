/**
 * Turns pgoutput's text-format column values into the envelope's JSON values, without `pg`'s
 * global type parsers (those read `timestamp without time zone` in the process's time zone and
 * would change for every other pg client in the process if we overrode them).
 */
export type ValueDecoder = (text: string) => unknown;

// Type OIDs from pg_type.dat; stable across Postgres versions.
const BOOL = 16;
const INT8 = 20;
const INT2 = 21;
const INT4 = 23;
const OID = 26;
const JSON_OID = 114;
const FLOAT4 = 700;
const FLOAT8 = 701;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const NUMERIC = 1700;
const JSONB = 3802;

/** `2024-03-01 12:34:56.789` (no zone, stored as UTC by convention) → `2024-03-01T12:34:56.789Z`. */
export function timestampToIso(text: string): string {
  if (text === 'infinity' || text === '-infinity') return text;
  const match = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?( BC)?$/.exec(text);
  if (!match || match[8]) return text;
  const fraction = (match[7] ?? '.000').padEnd(4, '0').slice(0, 4);
  return `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${fraction}Z`;
}

/** `2024-03-01 12:34:56.789+02` → the same instant in UTC, ISO-8601. */
export function timestamptzToIso(text: string): string {
  if (text === 'infinity' || text === '-infinity') return text;
  const match = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?([+-]\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(text);
  if (!match) return text;
  const fraction = (match[7] ?? '').slice(0, 4);
  const offset = `${match[8]}:${match[9] ?? '00'}`;
  const date = new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${fraction}${offset}`);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

export function valueDecoderFor(typeOid: number): ValueDecoder {
  switch (typeOid) {
    case BOOL:
      return (text) => text === 't';
    case INT2:
    case INT4:
    case OID:
      return (text) => Number(text);
    case FLOAT4:
    case FLOAT8:
      // NaN and ±Infinity have no JSON number: keep them as strings.
      return (text) => (/^-?(\d|\.)/.test(text) ? Number(text) : text);
    case INT8:
    case NUMERIC:
      // Beyond 2^53 a JSON number loses digits: bigints travel as strings (DESIGN.md).
      return (text) => text;
    case JSON_OID:
    case JSONB:
      return (text) => JSON.parse(text) as unknown;
    case TIMESTAMP:
      return timestampToIso;
    case TIMESTAMPTZ:
      return timestamptzToIso;
    default:
      // uuid, text, varchar, enums and everything else: the text form is the value.
      return (text) => text;
  }
}
