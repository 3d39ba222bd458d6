/**
 * The HTTP API: one hono app behind a Lambda Function URL with response streaming (the SSE
 * endpoint streams; API Gateway HTTP APIs cannot).
 */
import { events } from "./queues";
import { ws } from "./realtime";
import { adminToken, tokenSigningKey } from "./secrets";
import { table } from "./storage";

export const api = new sst.aws.Function("Api", {
  handler: "functions/entry/api.handler",
  // Any origin (the dashboard is served from its own; credentials are bearer keys, never cookies);
  // `Authorization` must be named: browsers do not let a `*` cover it.
  url: { cors: { allowOrigins: ["*"], allowHeaders: ["authorization", "content-type"], allowMethods: ["GET", "POST"] } },
  streaming: true,
  timeout: "15 minutes",
  memory: "1024 MB",
  link: [table, events, tokenSigningKey, adminToken],
  environment: {
    HEADWAY_TABLE_NAME: table.name,
    HEADWAY_EVENTS_QUEUE_URL: events.url,
    HEADWAY_TOKEN_SECRET: tokenSigningKey.value,
    HEADWAY_ADMIN_TOKEN: adminToken.value,
    HEADWAY_WEBSOCKET_URL: ws.url,
  },
});
