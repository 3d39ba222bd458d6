/**
 * The layer check of CI (`npm run check:layers`, .dependency-cruiser.cjs) fails on a wrong import:
 * run on a copy of the tree with one wrong import planted per rule that matters most, it names
 * each of them. (The real tree passing is CI's own step.)
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const FOLDERS = ["core", "functions", "sandbox", "sdk", "bin", "bench", "test", "web/page"];

/** Each planted module, and the rule its import breaks. */
const PLANTS: { file: string; source: string; rule: string; what: string }[] = [
  { file: "core/contract/planted.ts", source: 'export { reduce } from "../estimator/index.ts";\n', rule: "contract-imports-nothing-of-the-estimator", what: "the contract importing the estimator" },
  { file: "functions/ticker/planted.ts", source: 'export { createServices } from "../composition.ts";\n', rule: "only-entry-points-import-the-root", what: "a factory importing the composition root" },
  { file: "core/estimator/planted.ts", source: 'export { TICKER } from "../../functions/settings.ts";\n', rule: "core-is-pure", what: "core importing a shell" },
  { file: "functions/reducer/planted.ts", source: 'export { applyEvents } from "../../core/estimator/fold.ts";\n', rule: "estimator-has-one-face", what: "a shell reaching behind the estimator's face" },
  { file: "core/delivery/planted-a.ts", source: 'import { b } from "./planted-b.ts";\nexport const a = () => b();\n', rule: "no-circular", what: "a circle of imports" },
  { file: "core/delivery/planted-b.ts", source: 'import { a } from "./planted-a.ts";\nexport const b = (): unknown => a;\n', rule: "no-circular", what: "a circle of imports" },
];

let copy: string;
let output: { code: number; text: string };

beforeAll(async () => {
  copy = mkdtempSync(join(tmpdir(), "headway-layers-"));
  for (const folder of FOLDERS) cpSync(join(root, folder), join(copy, folder), { recursive: true });
  for (const file of ["tsconfig.json", ".dependency-cruiser.cjs", "package.json"]) cpSync(join(root, file), join(copy, file));
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"), "dir");
  for (const plant of PLANTS) writeFileSync(join(copy, plant.file), plant.source);
  output = await new Promise((resolvePromise) => {
    // Through the npm script, as CI runs it: npm puts the project's Node 24 first on the PATH
    // (dependency-cruiser refuses older ones), whatever Node started this test.
    execFile("npm", ["run", "--silent", "check:layers"], { cwd: copy }, (error, stdout, stderr) =>
      resolvePromise({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, text: `${stdout}${stderr}` }),
    );
  });
}, 60_000);

afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe("the layer check (CI)", () => {
  it("fails on a tree with wrong imports planted", () => {
    expect(output.code, output.text).not.toBe(0);
  });

  for (const { file, rule, what } of PLANTS) {
    it(`names ${what} (${rule}: ${file})`, () => {
      const lines = output.text.split("\n");
      const named = lines.some((line, index) => line.includes(`error ${rule}:`) && lines.slice(index, index + 4).join(" ").includes(file));
      expect(named, output.text).toBe(true);
    });
  }
});
