/**
 * Storage's public face: a job's state as stored items (the codec), which items a batch of events
 * touches, and the layout the store splits collections by (parts of originals, label buckets,
 * task parts, job parts; all of them linear hashing, core/estimator/partition.ts). The DynamoDB
 * store (functions/adapters/dynamo/) reads and writes items through this alone: it decides no
 * figure of the estimate.
 */
export * from "./codec.ts";
export { jobPartsTouchedBy, labelBucketsTouchedBy, partsLinkedBy, partsTouchedBy, taskPartsTouchedBy } from "./touched.ts";
export { allExecutions, type Execution } from "../estimator/executions.ts";
export { growJobParts, jobPartOf, MAX_JOB_PARTS } from "../estimator/job-executions.ts";
export { FORCE_SPLIT_ITEM_BYTES, groupOf, hashId, MAX_PARTS, MAX_SPLITS_PER_SAVE, partOf, SPLIT_ITEM_BYTES, splitSource } from "../estimator/partition.ts";
export type { JobState, OriginalState, TaskTally } from "../estimator/state.ts";
