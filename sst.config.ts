/// <reference path="./.sst/platform/config.d.ts" />
/**
 * Headway on AWS. Resources live in infra/, one file per concern, imported in dependency order
 * by infra/index.ts. Every Lambda runs on nodejs24.x, the Node major the tests run on.
 * The region is HEADWAY_REGION's (default us-east-1); docs/deploying.md says why a stage keeps it.
 */
export default $config({
  app(input) {
    const region = process.env.HEADWAY_REGION ?? "us-east-1";
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`HEADWAY_REGION must be an AWS Region such as eu-west-1, not "${region}"`);
    return {
      name: "headway",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
      providers: { aws: { region } },
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
