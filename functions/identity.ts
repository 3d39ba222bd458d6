/** New jobs' identities: an incarnation tells a job from an expired one that had the same id. */
import { randomBytes } from "node:crypto";
import type { JobMeta, JobRef } from "../core/ports.ts";

export function newJobMeta(ref: JobRef, nowMs: number): JobMeta {
  return { tenant: ref.tenant, jobId: ref.jobId, incarnation: `${nowMs.toString(36)}${randomBytes(3).toString("hex")}`, createdAtMs: nowMs };
}
