/**
 * The layer rules, checked in CI by dependency-cruiser (`npm run check:layers`). Imports run one
 * way, from the shells (entry points, sandbox, bin) down to core/; docs/architecture.md draws them.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A circle of imports hides which module is the ground: break it by moving what both need down a level.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-is-pure",
      severity: "error",
      comment: "core/ is the domain: it imports nothing of the project outside core/, and nothing of AWS.",
      from: { path: "^core/" },
      to: { pathNot: "^core/", dependencyTypesNot: ["core"], path: "^(functions|sandbox|sdk|bin|web|infra|bench|test)/|node_modules/@aws-sdk" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|\\.sst|web/dist)" },
    parser: "swc",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".js", ".json"] },
  },
};
