/**
 * JSON bodies are parsed into JavaScript numbers (IEEE 754 doubles), and the values travel on as
 * such (jsonb in both databases, the change events). A number the double cannot hold as written —
 * an integer beyond 2^53 such as 9007199254740993, more digits than a double keeps, 1e400 — would be
 * stored changed without anyone noticing; the API refuses it instead (400 SCHEMA_ERROR). Only the
 * raw text can tell: JSON.parse has already rounded. Pure functions over valid JSON text.
 */

/** A decimal literal's exact value as sign, significant digits and exponent, for comparison. */
function canonicalDecimal(literal: string): string | undefined {
  const match = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!match) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits.length === 0) return '0';
  let scale = Number(exponent) - fraction.length;
  const trailingZeros = /0+$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailingZeros);
  scale += trailingZeros;
  return `${sign}${digits}e${scale}`;
}

/** True when the literal survives JSON.parse → JSON.stringify with its value unchanged. */
export function isExactAsDouble(literal: string): boolean {
  const value = Number(literal);
  if (!Number.isFinite(value)) return false;
  // -0 becomes 0 on the way out, which is the same zero; 1e-400 becoming 0 is not.
  if (value === 0) return canonicalDecimal(literal) === '0';
  return canonicalDecimal(literal) === canonicalDecimal(String(value));
}

type Frame = { kind: 'object'; key: string | undefined; expectingKey: boolean } | { kind: 'array'; index: number };

function pathOf(stack: readonly Frame[]): string {
  return stack.map((frame) => (frame.kind === 'object' ? (frame.key ?? '') : String(frame.index))).join('.') || '(body)';
}

/**
 * The first number in `json` (valid JSON text) whose value a double cannot keep, with the
 * dotted path of the field holding it.
 */
export function findInexactNumber(json: string): { path: string; literal: string } | undefined {
  const stack: Frame[] = [];
  let position = 0;
  while (position < json.length) {
    const char = json[position]!;
    const frame = stack.at(-1);
    if (char === '{') {
      stack.push({ kind: 'object', key: undefined, expectingKey: true });
      position++;
    } else if (char === '[') {
      stack.push({ kind: 'array', index: 0 });
      position++;
    } else if (char === '}' || char === ']') {
      stack.pop();
      position++;
    } else if (char === ',') {
      if (frame?.kind === 'object') frame.expectingKey = true;
      else if (frame?.kind === 'array') frame.index++;
      position++;
    } else if (char === ':') {
      if (frame?.kind === 'object') frame.expectingKey = false;
      position++;
    } else if (char === '"') {
      let end = position + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (frame?.kind === 'object' && frame.expectingKey) frame.key = JSON.parse(json.slice(position, end + 1)) as string;
      position = end + 1;
    } else if (char === '-' || (char >= '0' && char <= '9')) {
      const literal = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(json.slice(position, position + 1_000))?.[0] ?? char;
      if (!isExactAsDouble(literal)) return { path: pathOf(stack), literal };
      position += literal.length;
    } else {
      // Whitespace and the letters of true, false, null.
      position++;
    }
  }
  return undefined;
}
