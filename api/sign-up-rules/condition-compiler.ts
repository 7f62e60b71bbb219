import { CelScalar, celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { RE2JS } from '@bufbuild/re2';
import type { SignUpRuleContext } from './sign-up-context';

/**
 * Compiles sign-up rule conditions with `@bufbuild/cel` (a CEL implementation tested against the
 * cel-spec conformance suite, with a linear-time RE2 engine for `matches`, so no condition can
 * backtrack for long on a hostile address). Only CEL's standard functions are available.
 */

const variables = {
  email: CelScalar.STRING,
  emailDomain: CelScalar.STRING,
  authMethod: CelScalar.STRING,
  oauthProvider: CelScalar.STRING,
} as const;

/** Compiled patterns kept at most: a pattern built from the address changes with every sign-up. */
const maxCachedPatterns = 1_000;
const compiledPatterns = new Map<string, RE2JS>();

/**
 * The library's own RE2 engine, with compiled patterns kept: left alone it compiles a `matches`
 * pattern again on every evaluation, the larger part of a rule's cost. A pattern that does not
 * compile throws, as before, and the evaluation turns that into an error value.
 */
const cachingRe2 = {
  compile(pattern: string): RE2JS {
    let compiled = compiledPatterns.get(pattern);
    if (!compiled) {
      compiled = RE2JS.compile(pattern);
      if (compiledPatterns.size >= maxCachedPatterns) compiledPatterns.clear();
      compiledPatterns.set(pattern, compiled);
    }
    return compiled;
  },
};

const environment = celEnv({ variables, re2: cachingRe2 });

/** Identifiers CEL resolves by itself: type names, usable in `type(x) == string`. */
const builtInIdentifiers = new Set(['bool', 'int', 'uint', 'double', 'string', 'bytes', 'list', 'map', 'null_type', 'type']);

/** What one evaluation of a condition gave: a bool, or why there is none (the rule then does not match). */
export type ConditionResult = { kind: 'value'; matched: boolean } | { kind: 'error'; problem: string };

export type CompiledCondition = (context: SignUpRuleContext) => ConditionResult;

export type CompileResult =
  | { ok: true; evaluate: CompiledCondition }
  /** `line` and `column` are 1-based, where the parser gave up or the unknown name starts. */
  | { ok: false; problem: string; line: number; column: number };

type ParsedExpression = ReturnType<typeof parse>;
type Expression = ParsedExpression['expr'];

interface SourcePosition {
  line: number;
  column: number;
}

/** 1-based line and column of a character offset of `source`. */
function positionAt(source: string, offset: number): SourcePosition {
  const before = source.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/** The parser's error position, when it gives one. */
function syntaxErrorPosition(error: unknown): SourcePosition | undefined {
  if (typeof error !== 'object' || error === null || !('location' in error)) return undefined;
  const start = (error.location as { start?: { line?: unknown; column?: unknown } } | undefined)?.start;
  return typeof start?.line === 'number' && typeof start.column === 'number' ? { line: start.line, column: start.column } : undefined;
}

/**
 * The first identifier that names no variable: CEL itself only notices at run time ("unresolved
 * attribute"), when a typo would silently make a rule never match. Walks with an explicit stack;
 * comprehension macros (`exists`, `all`, `map`, `filter`) bring their own variables into scope.
 */
/**
 * Where the first comprehension (a macro that iterates) is, if any. `@bufbuild/cel` bounds no
 * iteration: nested `map`s over list literals fit in a few thousand characters and run 10^80 steps
 * synchronously, freezing the API process every project shares. Without them, evaluation is linear
 * in the condition's size.
 */
function firstComprehension(parsed: ParsedExpression): number | undefined {
  const stack: (Expression | undefined)[] = [parsed.expr];
  while (stack.length > 0) {
    const expression = stack.pop();
    if (!expression) continue;
    const kind = expression.exprKind;
    switch (kind.case) {
      case 'comprehensionExpr':
        return parsed.sourceInfo?.positions[String(expression.id)] ?? 0;
      case 'selectExpr':
        stack.push(kind.value.operand);
        break;
      case 'callExpr':
        stack.push(kind.value.target, ...kind.value.args);
        break;
      case 'listExpr':
        stack.push(...kind.value.elements);
        break;
      case 'structExpr':
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') stack.push(entry.keyKind.value);
          stack.push(entry.value);
        }
        break;
      default:
        break;
    }
  }
  return undefined;
}

function firstUnknownIdentifier(parsed: ParsedExpression): { name: string; offset: number } | undefined {
  const stack: { expression: Expression | undefined; scope: ReadonlySet<string> }[] = [{ expression: parsed.expr, scope: new Set() }];
  while (stack.length > 0) {
    const { expression, scope } = stack.pop()!;
    if (!expression) continue;
    const kind = expression.exprKind;
    switch (kind.case) {
      case 'identExpr': {
        const { name } = kind.value;
        if (!(name in variables) && !builtInIdentifiers.has(name) && !scope.has(name)) {
          return { name, offset: parsed.sourceInfo?.positions[String(expression.id)] ?? 0 };
        }
        break;
      }
      case 'selectExpr':
        stack.push({ expression: kind.value.operand, scope });
        break;
      case 'callExpr':
        stack.push({ expression: kind.value.target, scope }, ...kind.value.args.map((argument) => ({ expression: argument, scope })));
        break;
      case 'listExpr':
        stack.push(...kind.value.elements.map((element) => ({ expression: element, scope })));
        break;
      case 'structExpr':
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') stack.push({ expression: entry.keyKind.value, scope });
          stack.push({ expression: entry.value, scope });
        }
        break;
      case 'comprehensionExpr': {
        const comprehension = kind.value;
        const inner = new Set([...scope, comprehension.iterVar, comprehension.iterVar2, comprehension.accuVar].filter((name) => name !== ''));
        stack.push(
          { expression: comprehension.iterRange, scope },
          { expression: comprehension.accuInit, scope },
          { expression: comprehension.loopCondition, scope: inner },
          { expression: comprehension.loopStep, scope: inner },
          { expression: comprehension.result, scope: inner },
        );
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/** Parses and plans a condition once; the result evaluates it against any number of sign-ups. */
export function compileCondition(source: string): CompileResult {
  let parsed: ParsedExpression;
  try {
    parsed = parse(source);
  } catch (error: unknown) {
    // A syntax error, or a RangeError from the recursive parser on absurdly deep nesting.
    const position = syntaxErrorPosition(error) ?? { line: 1, column: 1 };
    const problem = error instanceof RangeError ? 'the condition is nested too deeply' : `syntax error: ${error instanceof Error ? (('rawMessage' in error && typeof error.rawMessage === 'string') ? error.rawMessage : error.message) : String(error)}`;
    return { ok: false, problem, ...position };
  }
  const loop = firstComprehension(parsed);
  if (loop !== undefined) {
    return {
      ok: false,
      problem: 'the macros that iterate (all, exists, exists_one, map, filter) are not allowed: a condition runs on every sign-up and must take bounded time',
      ...positionAt(source, loop),
    };
  }
  const unknown = firstUnknownIdentifier(parsed);
  if (unknown) {
    return {
      ok: false,
      problem: `unknown name ${JSON.stringify(unknown.name)} (the variables are email, emailDomain, authMethod, oauthProvider)`,
      ...positionAt(source, unknown.offset),
    };
  }
  let program: ReturnType<typeof plan<typeof variables>>;
  try {
    program = plan(environment, parsed);
  } catch (error: unknown) {
    return { ok: false, problem: `cannot be planned: ${error instanceof Error ? error.message : String(error)}`, line: 1, column: 1 };
  }
  return {
    ok: true,
    evaluate: (context) => {
      // bufbuild returns evaluation errors as values (a bad regex, no matching overload); plan()
      // already turns anything thrown into one. The catch is for what the library itself misses.
      try {
        const value = program(context);
        if (isCelError(value)) return { kind: 'error', problem: value.message };
        if (typeof value !== 'boolean') return { kind: 'error', problem: 'the condition did not evaluate to a bool' };
        return { kind: 'value', matched: value };
      } catch (error: unknown) {
        return { kind: 'error', problem: error instanceof Error ? error.message : 'evaluation failed' };
      }
    },
  };
}
