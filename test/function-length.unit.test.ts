/** The function-length check of CI (.ci/function-length.ts): what counts toward a function, and that a long one fails it. */
import { describe, expect, it } from "vitest";
import { functionLengths, MAX_LINES } from "../.ci/function-length.ts";

const body = (lines: number, indent = "  ") => Array.from({ length: lines }, (_, i) => `${indent}const v${i} = ${i};`).join("\n");
const lengthOf = (source: string, name: string) => functionLengths(source, "planted.ts").find((fn) => fn.name === name)?.lines;

describe("function length (.ci/function-length.ts)", () => {
  it("flags a body over the limit", () => {
    const source = `export function long() {\n${body(MAX_LINES)}\n}\n`;
    expect(lengthOf(source, "long")).toBe(MAX_LINES + 2);
  });

  it("counts a factory's returned methods each on their own, not in the factory", () => {
    const source = `export function createThing() {\n  const x = 1;\n  return {\n    first() {\n${body(100, "      ")}\n    },\n    second: async () => {\n${body(100, "      ")}\n    },\n  };\n}\n`;
    expect(lengthOf(source, "createThing")).toBeLessThan(10);
    expect(lengthOf(source, "createThing › first")).toBe(102);
    expect(lengthOf(source, "createThing › second")).toBe(102);
  });

  it("counts a closure's inner helpers and callbacks in the closure (and measures each helper too)", () => {
    const source = `export function createThing() {\n  function helper() {\n${body(70, "    ")}\n  }\n  const other = () => {\n${body(40, "    ")}\n  };\n  [1].forEach(() => {\n${body(20, "    ")}\n  });\n  return { helper, other };\n}\n`;
    expect(lengthOf(source, "createThing")).toBeGreaterThan(MAX_LINES);
    expect(lengthOf(source, "createThing › helper")).toBe(72);
  });
});
