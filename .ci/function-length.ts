/**
 * No production function body longer than MAX_LINES lines (`npm run check:functions`, run by
 * .ci/run). A function's length is the lines of its body, less the bodies of the methods written
 * inside it (a method or function-valued property of an object literal or a class, such as the
 * methods a factory returns): each of those counts on its own. Everything else inside a function
 * counts for it: its callbacks, and the helpers it declares (`function`, `const f = () => {…}`),
 * which are measured on their own as well, so a closure cannot hide its length in inner helpers.
 * Parsed with oxc (through rolldown's `parseAst`, already in the tree for the dashboard's bundle),
 * which reads TypeScript as it is.
 *
 *   node .ci/function-length.ts [--max N] [paths…]   # default: the production folders
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAst } from "rolldown/parseAst";

export const MAX_LINES = 120;
export const PRODUCTION = ["core", "functions", "sandbox", "sdk", "bin", "web/page"];

interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

export interface LongFunction {
  file: string;
  name: string;
  line: number;
  lines: number;
}

const FUNCTION_TYPES = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && typeof (value as Node).type === "string" && typeof (value as Node).start === "number";
}

function children(node: Node): Node[] {
  const found: Node[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === "type" || key === "start" || key === "end") continue;
    if (Array.isArray(value)) for (const item of value) if (isNode(item)) found.push(item);
    if (isNode(value)) found.push(value);
  }
  return found;
}

/** Whether a function is a method: a property or method of an object literal or a class. */
function isMethod(node: Node, parent: Node): boolean {
  return (parent.type === "Property" || parent.type === "MethodDefinition" || parent.type === "PropertyDefinition") && parent.value === node;
}

/** A function with a name of its own: declared, bound to a variable, or a property or method of an object or class. */
function namedFunction(node: Node, parent: Node | null): string | null {
  if (!FUNCTION_TYPES.has(node.type)) return null;
  const id = node.id as { name?: string } | null | undefined;
  if (id?.name !== undefined) return id.name;
  if (parent === null) return null;
  const key = parent.key as { name?: string; value?: unknown } | undefined;
  if ((parent.type === "Property" || parent.type === "MethodDefinition" || parent.type === "PropertyDefinition") && parent.value === node) return String(key?.name ?? key?.value ?? "(computed)");
  if (parent.type === "VariableDeclarator" && parent.init === node) return String((parent.id as { name?: string }).name ?? "(pattern)");
  return null;
}

/** Every function's own body length in a file's source. */
export function functionLengths(source: string, file: string): LongFunction[] {
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (lineStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  };
  const program = parseAst(source, { lang: file.endsWith(".tsx") ? "tsx" : "ts" }, file) as unknown as Node;
  const results: LongFunction[] = [];
  const measured = new Set<number>();

  /** Measures `fn` (named `name`): its body's lines less those of the methods inside it; every named function inside is measured too. */
  function measure(fn: Node, name: string): void {
    const body = fn.body as Node | null;
    if (body === null || body === undefined || body.type !== "BlockStatement") return;
    let nested = 0;
    const walk = (node: Node, parent: Node): void => {
      for (const child of children(node)) {
        const childName = namedFunction(child, node);
        if (childName !== null) {
          const inner = child.body as Node | null;
          const isOwn = isMethod(child, node);
          if (isOwn && inner !== null && inner !== undefined && inner.type === "BlockStatement") nested += lineOf(inner.end) - lineOf(inner.start) + 1;
          measure(child, `${name} › ${childName}`);
          if (!isOwn) walk(child, node);
          continue;
        }
        if (FUNCTION_TYPES.has(child.type)) {
          walk(child, node); // an anonymous callback: its lines are its parent's
          continue;
        }
        walk(child, node);
      }
      void parent;
    };
    walk(body, fn);
    const lines = lineOf(body.end) - lineOf(body.start) + 1 - nested;
    if (!measured.has(fn.start)) results.push({ file, name, line: lineOf(fn.start), lines });
    measured.add(fn.start);
  }

  const top = (node: Node, parent: Node | null): void => {
    for (const child of children(node)) {
      const name = namedFunction(child, node) ?? (FUNCTION_TYPES.has(child.type) ? "(anonymous)" : null);
      if (name !== null) measure(child, name);
      else top(child, node);
    }
    void parent;
  };
  top(program, null);
  return results;
}

function sourceFiles(path: string): string[] {
  if (statSync(path).isFile()) return /\.tsx?$/.test(path) && !/\.d\.ts$/.test(path) ? [path] : [];
  return readdirSync(path).flatMap((entry) => (entry === "node_modules" || entry === "dist" ? [] : sourceFiles(join(path, entry))));
}

export function longFunctions(paths: readonly string[], maxLines = MAX_LINES): LongFunction[] {
  return paths
    .flatMap(sourceFiles)
    .filter((file) => !/\.test\.tsx?$/.test(file))
    .flatMap((file) => functionLengths(readFileSync(file, "utf8"), relative(process.cwd(), file)))
    .filter((fn) => fn.lines > maxLines);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const maxAt = args.indexOf("--max");
  const maxLines = maxAt === -1 ? MAX_LINES : Number(args[maxAt + 1]);
  const paths = maxAt === -1 ? args : args.filter((_, index) => index !== maxAt && index !== maxAt + 1);
  const long = longFunctions(paths.length > 0 ? paths : PRODUCTION, maxLines);
  for (const fn of long.sort((a, b) => b.lines - a.lines)) console.log(`${fn.file}:${fn.line}  ${fn.name}: ${fn.lines} lines (at most ${maxLines})`);
  console.log(long.length === 0 ? `function length: ok (no production function body over ${maxLines} lines)` : `function length: ${long.length} function bodies over ${maxLines} lines`);
  process.exit(long.length === 0 ? 0 : 1);
}
