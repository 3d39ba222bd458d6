/**
 * The ticker: EventBridge Scheduler cannot fire more often than once a minute, so it starts the
 * ticker every minute and the ticker ticks every ~2 s for 55 s of it (a lease keeps overlapping
 * runs from both sending).
 */
import { TICKER } from "../functions/settings";
import { api } from "./api";
import { ws } from "./realtime";
import { webhooks } from "./webhooks";
import { table } from "./storage";

export const tickerDlq = new sst.aws.Queue("TickerDlq");

export const ticker = new sst.aws.CronV2("Ticker", {
  schedule: "rate(1 minute)",
  function: {
    handler: "functions/entry/ticker.handler",
    timeout: `${TICKER.timeoutSeconds} seconds`,
    // Posting is CPU-bound: about 0.07 ms for a post's request and 0.08 ms for its SigV4
    // signature (`npm run bench -- poster`), so 10,000 subscribers on a 2 s tick need ~0.75 vCPU
    // for the posts alone. For that many give the ticker 1,769 MB (one vCPU), or 3,008 MB and one
    // posting thread beside the main one (HEADWAY_POST_THREADS; docs/realtime.md); not measured
    // on AWS.
    memory: "1024 MB",
    link: [table, ws, webhooks],
    environment: {
      HEADWAY_TABLE_NAME: table.name,
      HEADWAY_WS_MANAGEMENT_ENDPOINT: ws.managementEndpoint,
      HEADWAY_WEBHOOK_QUEUE_URL: webhooks.url,
      // Webhook bodies carry a page of files and the status_url of the rest.
      HEADWAY_PUBLIC_URL: api.url,
      HEADWAY_POST_THREADS: "0",
    },
  },
  retries: 0,
  dlq: tickerDlq.arn,
  timezone: "UTC",
});
