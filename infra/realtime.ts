/**
 * The WebSocket API. Every route goes to one function (functions/entry/websocket.handler dispatches on the
 * route key): one Lambda per route would hit API Gateway's control-plane limits on deploy.
 */
import { tokenSigningKey } from "./secrets";
import { table } from "./storage";

export const ws = new sst.aws.ApiGatewayWebSocket("Ws", {
  // Subscriber tokens travel in the query string: the access log format leaves it out.
  accessLog: { retention: "1 month" },
});

export const wsRoutes = new sst.aws.Function("WsRoutes", {
  handler: "functions/entry/websocket.handler",
  timeout: "10 seconds",
  memory: "512 MB",
  link: [table, ws, tokenSigningKey],
  environment: {
    HEADWAY_TABLE_NAME: table.name,
    HEADWAY_TOKEN_SECRET: tokenSigningKey.value,
    HEADWAY_WS_MANAGEMENT_ENDPOINT: ws.managementEndpoint,
  },
});

for (const route of ["$connect", "$disconnect", "$default", "subscribe", "unsubscribe", "ping"]) {
  ws.route(route, wsRoutes.arn);
}
