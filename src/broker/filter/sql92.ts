/**
 * SQL92 property filters (src/broker/filter/sql92.ts): the subset RocketMQ 4.x documents for
 * `MessageSelector.bySql(...)`, evaluated over a message's properties (user properties and TAGS).
 *
 *   numbers      123, 3.1415 (compared numerically; a property that is not a number never matches)
 *   strings      'abc' ('' escapes a quote)
 *   booleans     TRUE, FALSE
 *   comparisons  >, >=, <, <=, BETWEEN a AND b, NOT BETWEEN, =, <>, IN ('a', 'b'), NOT IN
 *   nulls        IS NULL, IS NOT NULL
 *   logic        AND, OR, NOT, parentheses
 *
 * A property that is absent makes every comparison on it false (SQL's unknown), as in RocketMQ.
 * compile() throws SqlFilterError with the position of the problem; the broker answers
 * SUBSCRIPTION_PARSE_FAILED (23).
 */

export class SqlFilterError extends Error {}

type Value = string | number | boolean | null;
type Node =
  | { kind: "literal"; value: Value }
  | { kind: "property"; name: string }
  | { kind: "not"; operand: Node }
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "compare"; op: "=" | "<>" | "<" | "<=" | ">" | ">="; left: Node; right: Node }
  | { kind: "between"; negated: boolean; operand: Node; low: Node; high: Node }
  | { kind: "in"; negated: boolean; operand: Node; values: Value[] }
  | { kind: "isNull"; negated: boolean; operand: Node };

interface Token {
  type: "number" | "string" | "word" | "symbol" | "end";
  text: string;
  at: number;
}

const keywords = new Set(["AND", "OR", "NOT", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE"]);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at]!;
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    const start = at;
    if (char === "'") {
      let value = "";
      at++;
      for (;;) {
        if (at >= text.length) throw new SqlFilterError(`unterminated string at ${start}`);
        if (text[at] === "'") {
          if (text[at + 1] === "'") {
            value += "'";
            at += 2;
            continue;
          }
          at++;
          break;
        }
        value += text[at++];
      }
      tokens.push({ type: "string", text: value, at: start });
    } else if (/[0-9]/.test(char) || (char === "-" && /[0-9]/.test(text[at + 1] ?? "") && !/number|string|word/.test(tokens.at(-1)?.type ?? ""))) {
      at++;
      while (at < text.length && /[0-9.]/.test(text[at]!)) at++;
      tokens.push({ type: "number", text: text.slice(start, at), at: start });
    } else if (/[A-Za-z_$]/.test(char)) {
      while (at < text.length && /[A-Za-z0-9_$.]/.test(text[at]!)) at++;
      tokens.push({ type: "word", text: text.slice(start, at), at: start });
    } else {
      const two = text.slice(at, at + 2);
      if (two === "<>" || two === "<=" || two === ">=") {
        tokens.push({ type: "symbol", text: two, at });
        at += 2;
      } else if ("=<>(),".includes(char)) {
        tokens.push({ type: "symbol", text: char, at });
        at++;
      } else {
        throw new SqlFilterError(`unexpected character '${char}' at ${at}`);
      }
    }
  }
  tokens.push({ type: "end", text: "", at: text.length });
  return tokens;
}

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index]!;
  }
  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token.type === "word" && token.text.toUpperCase() === word;
  }
  private take(): Token {
    return this.tokens[this.index++]!;
  }
  private expectKeyword(word: string): void {
    if (!this.isKeyword(word)) throw new SqlFilterError(`expected ${word} at ${this.peek().at}`);
    this.index++;
  }
  private expectSymbol(symbol: string): void {
    const token = this.peek();
    if (token.type !== "symbol" || token.text !== symbol) throw new SqlFilterError(`expected '${symbol}' at ${token.at}`);
    this.index++;
  }

  parse(): Node {
    const node = this.or();
    if (this.peek().type !== "end") throw new SqlFilterError(`unexpected '${this.peek().text}' at ${this.peek().at}`);
    return node;
  }
  private or(): Node {
    let left = this.and();
    while (this.isKeyword("OR")) {
      this.index++;
      left = { kind: "or", left, right: this.and() };
    }
    return left;
  }
  private and(): Node {
    let left = this.not();
    while (this.isKeyword("AND")) {
      this.index++;
      left = { kind: "and", left, right: this.not() };
    }
    return left;
  }
  private not(): Node {
    if (this.isKeyword("NOT")) {
      this.index++;
      return { kind: "not", operand: this.not() };
    }
    return this.predicate();
  }
  private predicate(): Node {
    const operand = this.primary();
    const token = this.peek();
    if (token.type === "symbol" && ["=", "<>", "<", "<=", ">", ">="].includes(token.text)) {
      this.index++;
      return { kind: "compare", op: token.text as "=", left: operand, right: this.primary() };
    }
    if (this.isKeyword("IS")) {
      this.index++;
      const negated = this.isKeyword("NOT");
      if (negated) this.index++;
      this.expectKeyword("NULL");
      return { kind: "isNull", negated, operand };
    }
    let negated = false;
    if (this.isKeyword("NOT")) {
      negated = true;
      this.index++;
    }
    if (this.isKeyword("BETWEEN")) {
      this.index++;
      const low = this.primary();
      this.expectKeyword("AND");
      return { kind: "between", negated, operand, low, high: this.primary() };
    }
    if (this.isKeyword("IN")) {
      this.index++;
      this.expectSymbol("(");
      const values: Value[] = [];
      for (;;) {
        const item = this.primary();
        if (item.kind !== "literal") throw new SqlFilterError(`IN takes literals, at ${this.peek().at}`);
        values.push(item.value);
        if (this.peek().type === "symbol" && this.peek().text === ",") {
          this.index++;
          continue;
        }
        break;
      }
      this.expectSymbol(")");
      return { kind: "in", negated, operand, values };
    }
    if (negated) throw new SqlFilterError(`expected BETWEEN or IN after NOT at ${this.peek().at}`);
    return operand;
  }
  private primary(): Node {
    const token = this.take();
    switch (token.type) {
      case "number": {
        const value = Number(token.text);
        if (!Number.isFinite(value)) throw new SqlFilterError(`bad number '${token.text}' at ${token.at}`);
        return { kind: "literal", value };
      }
      case "string":
        return { kind: "literal", value: token.text };
      case "word": {
        const upper = token.text.toUpperCase();
        if (upper === "TRUE") return { kind: "literal", value: true };
        if (upper === "FALSE") return { kind: "literal", value: false };
        if (upper === "NULL") return { kind: "literal", value: null };
        if (keywords.has(upper)) throw new SqlFilterError(`unexpected ${upper} at ${token.at}`);
        return { kind: "property", name: token.text };
      }
      case "symbol":
        if (token.text === "(") {
          const inner = this.or();
          this.expectSymbol(")");
          return inner;
        }
        throw new SqlFilterError(`unexpected '${token.text}' at ${token.at}`);
      case "end":
        throw new SqlFilterError("unexpected end of expression");
    }
  }
}

/** Three-valued logic: null is SQL's unknown. */
type Truth = boolean | null;

function valueOf(node: Node, properties: Map<string, string>): Value {
  if (node.kind === "literal") return node.value;
  if (node.kind === "property") return properties.get(node.name) ?? null;
  return truth(node, properties);
}

/** Compares a and b: numerically when either is a number, else as strings; null when unknown. */
function compare(a: Value, b: Value): number | null {
  if (a === null || b === null) return null;
  if (typeof a === "number" || typeof b === "number") {
    const x = typeof a === "number" ? a : typeof a === "string" && a.trim() !== "" ? Number(a) : NaN;
    const y = typeof b === "number" ? b : typeof b === "string" && b.trim() !== "" ? Number(b) : NaN;
    if (Number.isNaN(x) || Number.isNaN(y)) return null;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "boolean" || typeof b === "boolean") {
    const x = String(a).toLowerCase();
    const y = String(b).toLowerCase();
    return x === y ? 0 : null;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function truth(node: Node, properties: Map<string, string>): Truth {
  switch (node.kind) {
    case "literal":
      return typeof node.value === "boolean" ? node.value : null;
    case "property": {
      const value = properties.get(node.name);
      return value === undefined ? null : value.toLowerCase() === "true" ? true : value.toLowerCase() === "false" ? false : null;
    }
    case "not": {
      const inner = truth(node.operand, properties);
      return inner === null ? null : !inner;
    }
    case "and": {
      const left = truth(node.left, properties);
      if (left === false) return false;
      const right = truth(node.right, properties);
      if (right === false) return false;
      return left === null || right === null ? null : true;
    }
    case "or": {
      const left = truth(node.left, properties);
      if (left === true) return true;
      const right = truth(node.right, properties);
      if (right === true) return true;
      return left === null || right === null ? null : false;
    }
    case "compare": {
      const order = compare(valueOf(node.left, properties), valueOf(node.right, properties));
      if (order === null) return null;
      switch (node.op) {
        case "=": return order === 0;
        case "<>": return order !== 0;
        case "<": return order < 0;
        case "<=": return order <= 0;
        case ">": return order > 0;
        case ">=": return order >= 0;
      }
      return null;
    }
    case "between": {
      const value = valueOf(node.operand, properties);
      const low = compare(value, valueOf(node.low, properties));
      const high = compare(value, valueOf(node.high, properties));
      if (low === null || high === null) return null;
      const inside = low >= 0 && high <= 0;
      return node.negated ? !inside : inside;
    }
    case "in": {
      const value = valueOf(node.operand, properties);
      if (value === null) return null;
      const found = node.values.some((candidate) => compare(value, candidate) === 0);
      return node.negated ? !found : found;
    }
    case "isNull": {
      const value = valueOf(node.operand, properties);
      return node.negated ? value !== null : value === null;
    }
  }
}

export interface SqlFilter {
  readonly expression: string;
  matches(properties: Map<string, string>): boolean;
}

/** Parses `expression`; throws SqlFilterError. */
export function compileSqlFilter(expression: string): SqlFilter {
  if (expression.trim().length === 0) throw new SqlFilterError("empty expression");
  const root = new Parser(tokenize(expression)).parse();
  return { expression, matches: (properties) => truth(root, properties) === true };
}
