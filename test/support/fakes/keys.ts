/** How the fakes key what they keep, as the real tables do: a job by tenant and id, its subscribers and webhook claims by incarnation. */
import type { JobMeta, JobRef } from "../../../core/ports.ts";

export const jobKey = (job: JobRef) => `${job.tenant}#${job.jobId}`;
export const incarnationKey = (job: JobMeta) => `${job.tenant}#${job.jobId}#${job.incarnation}`;
export const metaOf = (job: JobMeta): JobMeta => ({ tenant: job.tenant, jobId: job.jobId, incarnation: job.incarnation, createdAtMs: job.createdAtMs });
