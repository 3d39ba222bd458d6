/** Reading a stored job in tests: by id in the `default` tenant unless told, whole, at one version. */
import type { JobMeta, JobStore, RejectionLog, RejectionRecord } from "../../core/ports.ts";
import type { JobState } from "../../core/estimator/state.ts";

export const TEST_TENANT = "default";

export async function readJob(store: JobStore, jobId: string, tenant = TEST_TENANT): Promise<{ meta: JobMeta; state: JobState }> {
  const read = await store.loadJob({ tenant, jobId });
  if (read === null || read === "busy") throw new Error(`job ${tenant}/${jobId} could not be read: ${read}`);
  return read;
}

/** The rejections kept under a job, newest first. */
export async function rejectionsOf(store: JobStore & { rejections: RejectionLog }, jobId: string, limit = 100, tenant = TEST_TENANT): Promise<RejectionRecord[]> {
  const head = await store.loadForBatch({ tenant, jobId }, []);
  return head === null ? [] : store.rejections.list(tenant, head.meta, limit);
}
