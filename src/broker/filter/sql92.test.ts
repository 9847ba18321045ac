import { expect, test } from "bun:test";
import { compileSqlFilter, SqlFilterError } from "./sql92.ts";

const props = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));

test("comparisons, BETWEEN, IN, IS NULL, AND/OR/NOT as RocketMQ documents them", () => {
  const m = props({ a: "5", b: "abc", TAGS: "TagA", flag: "true" });
  const cases: Array<[string, boolean]> = [
    ["a > 3", true], ["a >= 5", true], ["a < 5", false], ["a <> 5", false], ["a = 5", true], ["a = 5.0", true],
    ["a BETWEEN 1 AND 5", true], ["a NOT BETWEEN 1 AND 5", false], ["b = 'abc'", true], ["b <> 'abd'", true],
    ["TAGS IN ('TagA', 'TagB')", true], ["TAGS NOT IN ('TagA')", false], ["missing IS NULL", true], ["b IS NOT NULL", true],
    ["a > 3 AND b = 'abc'", true], ["a > 9 OR b = 'abc'", true], ["NOT (a > 9)", true], ["(a > 9 OR a < 1) AND b = 'abc'", false],
    ["flag = TRUE", true], ["missing > 1", false], ["NOT (missing > 1)", false], ["b > 1", false], ["a > -1", true],
    ["b = 'it''s'", false],
  ];
  for (const [expression, expected] of cases) expect([expression, compileSqlFilter(expression).matches(m)]).toEqual([expression, expected]);
});

test("malformed expressions fail with a position", () => {
  for (const bad of ["", "a >", "a = 'x", "a BETWEEN 1", "a IN (b)", "a # 1", "(a > 1", "a > 1 b"]) {
    expect(() => compileSqlFilter(bad)).toThrow(SqlFilterError);
  }
});
