import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';

/**
 * PromQL read with Prometheus's own grammar (@prometheus-io/lezer-promql, the parser of its UI),
 * so tests can take dashboard and alert expressions apart instead of matching them with regexes.
 */
function parse(expr: string): SyntaxNode {
  return parser.parse(expr).topNode;
}

/** Whether the grammar found a syntax error anywhere in `expr`. */
export function hasSyntaxError(expr: string): boolean {
  let error = false;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) error = true;
    },
  });
  return error;
}

/** Every vector selector (`name{matchers}`, also inside range selectors), as text one can query. */
export function vectorSelectors(expr: string): string[] {
  const selectors: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name === 'VectorSelector') {
        selectors.push(expr.slice(node.from, node.to));
        return false;
      }
      return undefined;
    },
  });
  return selectors;
}

const comparisons = new Set(['Eql', 'Neq', 'Gtr', 'Lss', 'Gte', 'Lte']);
const setOperators = new Set(['And', 'Or', 'Unless']);

function isNumber(node: SyntaxNode, expr: string): boolean {
  if (node.name === 'NumberDurationLiteral') return true;
  // Thresholds written as arithmetic on literals (`4 * 1024 * 1024`) count as numbers too.
  if (node.name === 'BinaryExpr') {
    const operands = operandsOf(node);
    return operands !== undefined && isNumber(operands.left, expr) && isNumber(operands.right, expr);
  }
  if (node.name === 'ParenExpr' && node.firstChild) return isNumber(node.firstChild, expr);
  return false;
}

function operandsOf(node: SyntaxNode): { left: SyntaxNode; operator: SyntaxNode; right: SyntaxNode } | undefined {
  const left = node.firstChild;
  const operator = left?.nextSibling;
  let right = operator?.nextSibling;
  // Skip `bool` and `on(...)`/`ignoring(...)` modifiers between operator and right operand.
  while (right && (right.name === 'BoolModifier' || right.name === 'MatchingModifierClause')) right = right.nextSibling;
  return left && operator && right ? { left, operator, right } : undefined;
}

/**
 * The expression's parts with their threshold comparisons removed: `a > 60` gives `a`; `x and y`
 * gives the parts of both sides. An alert that is silent in a healthy system still has to yield
 * series here, which proves that what it compares exists under the names it uses.
 */
export function withoutThresholds(expr: string): string[] {
  const visit = (node: SyntaxNode): string[] => {
    if (node.name === 'BinaryExpr') {
      const operands = operandsOf(node);
      if (operands) {
        if (setOperators.has(operands.operator.name)) return [...visit(operands.left), ...visit(operands.right)];
        if (comparisons.has(operands.operator.name)) {
          if (isNumber(operands.right, expr)) return visit(operands.left);
          if (isNumber(operands.left, expr)) return visit(operands.right);
        }
      }
    }
    return [expr.slice(node.from, node.to)];
  };
  const top = parse(expr);
  return top.firstChild ? visit(top.firstChild) : [];
}
