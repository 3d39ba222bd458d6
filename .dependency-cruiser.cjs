/**
 * The layer rules, checked in CI by dependency-cruiser (`npm run check:layers`, run by .ci/run).
 * Imports run one way, from the shells (entry points, sandbox, bin) down to core/, and inside
 * core/ from the wings down to the ground; docs/architecture.md draws the arrows. A rule that
 * fails names the import that broke it; the fix is to move what both sides need down a level,
 * never to add an exception here.
 */
/** Imports between core/'s wings that run up or across (anything not listed in a wing's own rule is down). */
const wing = (name, mayNotImport, comment) => ({
  name: `${name}-runs-down`,
  severity: "error",
  comment,
  from: { path: `^core/${name}/` },
  to: { path: mayNotImport },
});

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
    {
      name: "ground-imports-nothing",
      severity: "error",
      comment: "core/errors.ts and core/time.ts are the ground every wing stands on: they import nothing of the project.",
      from: { path: "^core/(errors|time)\\.ts$" },
      to: { path: "^(core|functions|sandbox|sdk|bin|web|infra|bench|test)/" },
    },
    {
      name: "contract-imports-nothing-of-the-estimator",
      severity: "error",
      comment: "The wire contract is what producers and clients rely on; the estimator reads it, never the other way round.",
      from: { path: "^core/contract/" },
      to: { path: "^core/estimator/" },
    },
    wing("instructions", "^core/(contract|estimator|storage|delivery|access)/|^core/ports\\.ts$", "Transloadit's Assembly Instructions as written stand below the contract: they import only the ground."),
    wing("contract", "^core/(storage|delivery|access)/|^core/ports\\.ts$", "The contract imports only the ground and instructions/."),
    wing("estimator", "^core/(storage|delivery|access)/|^core/ports\\.ts$", "The estimator imports only the contract, instructions/ and the ground."),
    wing("storage", "^core/(delivery|access)/|^core/ports\\.ts$", "Storage encodes the estimator's state: it imports the estimator, the contract and the ground."),
    wing("delivery", "^core/(estimator|storage|access)/|^core/ports\\.ts$", "Delivery fits snapshots into frames and webhook bodies: it imports only the contract and the ground."),
    wing("access", "^core/(estimator|storage|delivery)/|^core/ports\\.ts$", "Access (keys, tokens) imports only the contract and the ground."),
    {
      name: "estimator-has-one-face",
      severity: "error",
      comment:
        "Outside core/estimator/, the estimator is core/estimator/index.ts. core/storage/ (which stores the state as it is), tests and benches may read the modules behind it; " +
        "the dashboard's page imports history.ts alone (a leaf that imports nothing), so that its bundle carries no estimator.",
      from: { path: "^(core|functions|sandbox|sdk|bin)/", pathNot: "^core/(estimator|storage)/" },
      to: { path: "^core/estimator/", pathNot: "^core/estimator/index\\.ts$" },
    },
    {
      name: "stores-go-through-storage",
      severity: "error",
      comment: "The adapters read and write a job's items through core/storage/index.ts alone.",
      from: { path: "^functions/adapters/" },
      to: { path: "^core/storage/", pathNot: "^core/storage/index\\.ts$" },
    },
    {
      name: "only-entry-points-import-the-root",
      severity: "error",
      comment: "functions/composition.ts builds every adapter and service; only the entry points (functions/entry/, the sandbox, the CLI) and tests ask it for them. A factory that imported it would loop back into the root.",
      from: { pathNot: "^(functions/entry|sandbox|bin|test|bench)/" },
      to: { path: "^functions/composition\\.ts$" },
    },
    {
      name: "sdk-stands-alone",
      severity: "error",
      comment: "The SDKs ship to producers and browsers: they import the contract, never the service.",
      from: { path: "^sdk/" },
      to: { path: "^(functions|sandbox|bin|infra|web)/|^core/(estimator|storage|delivery|access)/|^core/ports\\.ts$" },
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
