/**
 * The events queue (standard, for large batches and coalescing) with its DLQ, and the reducer.
 * Batches of up to 500 messages gathered for up to 1 s: each reducer invocation coalesces a job's
 * events into one write per touched item, which is what keeps the cost near 0.02 WCU per event.
 */
import { table } from "./storage";

const REDUCER_TIMEOUT_SECONDS = 30;
/** Receives before the DLQ; the reducer holds events of a not-yet-declared job for fewer than this. */
export const MAX_RECEIVE_COUNT = 10;

export const eventsDlq = new sst.aws.Queue("EventsDlq");

export const events = new sst.aws.Queue("Events", {
  // AWS wants at least 6× the function timeout so that retries of a slow batch do not overlap.
  visibilityTimeout: `${REDUCER_TIMEOUT_SECONDS * 6} seconds`,
  dlq: { queue: eventsDlq.arn, retry: MAX_RECEIVE_COUNT },
});

export const reducer = events.subscribe(
  {
    handler: "functions/reducer.handler",
    timeout: `${REDUCER_TIMEOUT_SECONDS} seconds`,
    memory: "1024 MB",
    link: [table, events],
    environment: {
      HEADWAY_TABLE_NAME: table.name,
      HEADWAY_EVENTS_QUEUE_URL: events.url,
      HEADWAY_MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
      HEADWAY_PENDING_UNKNOWN_JOB_SECONDS: "180",
    },
  },
  {
    batch: { size: 500, window: "1 second", partialResponses: true },
    transform: {
      eventSourceMapping: (args) => {
        args.scalingConfig = { maximumConcurrency: 20 };
      },
    },
  },
);
