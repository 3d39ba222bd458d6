/**
 * The events queue (standard, for large batches and coalescing) with its DLQ, and the reducer.
 * Batches of up to 500 messages gathered for up to 1 s: each reducer invocation coalesces a job's
 * events into one write per touched item, which is what keeps the cost near 0.02 WCU per event.
 */
import { EVENTS } from "../functions/settings";
import { table } from "./storage";

export const eventsDlq = new sst.aws.Queue("EventsDlq");

export const events = new sst.aws.Queue("Events", {
  // AWS wants at least 6× the function timeout so that retries of a slow batch do not overlap.
  visibilityTimeout: `${EVENTS.visibilityTimeoutSeconds} seconds`,
  dlq: { queue: eventsDlq.arn, retry: EVENTS.maxReceiveCount },
});

export const reducer = events.subscribe(
  {
    handler: "functions/entry/reducer.handler",
    timeout: `${EVENTS.reducerTimeoutSeconds} seconds`,
    memory: "1024 MB",
    link: [table, events],
    environment: {
      HEADWAY_TABLE_NAME: table.name,
      HEADWAY_EVENTS_QUEUE_URL: events.url,
      HEADWAY_MAX_RECEIVE_COUNT: String(EVENTS.maxReceiveCount),
      HEADWAY_PENDING_UNKNOWN_JOB_SECONDS: String(EVENTS.pendingUnknownJobSeconds),
    },
  },
  {
    batch: { size: EVENTS.batchSize, window: `${EVENTS.batchingWindowSeconds} second${EVENTS.batchingWindowSeconds === 1 ? "" : "s"}`, partialResponses: true },
    transform: {
      eventSourceMapping: (args) => {
        args.scalingConfig = { maximumConcurrency: EVENTS.maxConcurrency };
      },
    },
  },
);
