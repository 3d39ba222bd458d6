/// <reference path="./.sst/platform/config.d.ts" />
/**
 * Headway on AWS. Resources live in infra/, one file per concern, imported in dependency order
 * by infra/index.ts. Every Lambda runs on nodejs24.x, the Node major the tests run on.
 */
export default $config({
  app(input) {
    return {
      name: "headway",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
      providers: { aws: { region: "us-east-1" } },
    };
  },
  async run() {
    $transform(sst.aws.Function, (args) => {
      args.runtime ??= "nodejs24.x";
      args.architecture ??= "arm64";
      args.logging ??= { retention: "1 month", format: "json" };
      // Metrics carry the stage as a dimension (functions/adapters/emf-metrics.ts); infra/alarms.ts reads them by it.
      args.environment = $output(args.environment ?? {}).apply((environment) => ({ ...environment, HEADWAY_STAGE: $app.stage }));
    });
    const infra = await import("./infra/index");
    return infra.outputs;
  },
});
