/**
 * Headway's producer SDK for TypeScript: report a job's progress from a worker over the HTTP API
 * or straight to the events queue, batched, retried and flushed on close. See
 * docs/sdk-typescript.md.
 */
export { createHeadway, type CreateJobOptions, type Headway, type HeadwayOptions } from "./client.ts";
export type { Execution, ExecutionOptions, IndicatorProgress, Job, StepResultInput, TaskOptions } from "./job.ts";
export type { ProgressDetail, Reporter, ReporterOptions } from "./reporter.ts";
export type { RetryPolicy } from "./retry.ts";
export type { SqsTransportOptions } from "./sqs-transport.ts";
export {
  HeadwayApiError,
  HeadwayClosedError,
  HeadwayDeliveryError,
  HeadwayInvalidEventError,
  HeadwaySdkError,
  HeadwayUnavailableError,
  type DeliveryFailure,
} from "./errors.ts";
export { HeadwaySqsError } from "./sqs-transport.ts";
export type { Event } from "../../core/contract/events.ts";
export type { Snapshot } from "../../core/contract/snapshot.ts";
