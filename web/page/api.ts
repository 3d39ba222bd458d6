/**
 * The dashboard's HTTP calls: each answer parsed at the edge with the API's own zod schemas
 * (core/contract/), so the views get typed data or a readable error, never raw JSON.
 */
import { z } from "zod";
import { ErrorBody, JobList, RejectionList, TokenResponse, WebhookDeliveryList } from "../../core/contract/http.ts";
import { Snapshot } from "../../core/contract/snapshot.ts";

/** Served beside the page as `config.json`: by the sandbox (with its development key), or written by `web/build.ts` for a deployment (without one). */
export const DashboardConfig = z.object({
  v: z.literal(1),
  /** The HTTP API's base URL; null: the page's own origin (the sandbox serves both). */
  http_url: z.string().nullable(),
  websocket_url: z.string().nullable(),
  /** Only the sandbox sends one: its development key, to prefill the key field. */
  api_key: z.string().optional(),
});
export type DashboardConfig = z.infer<typeof DashboardConfig>;

export type JobList = z.infer<typeof JobList>;
export type RejectionList = z.infer<typeof RejectionList>;
export type WebhookDeliveryList = z.infer<typeof WebhookDeliveryList>;

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export async function loadConfig(): Promise<DashboardConfig> {
  const response = await fetch("config.json", { cache: "no-store" });
  // A static deployment built without a config still works against its own origin.
  if (!response.ok) return { v: 1, http_url: null, websocket_url: null };
  return DashboardConfig.parse(await response.json());
}

export function createApi(httpUrl: string, apiKey: () => string) {
  async function call<T>(schema: z.ZodType<T>, path: string, init: RequestInit = {}): Promise<T> {
    const response = await fetch(`${httpUrl}${path}`, { ...init, headers: { authorization: `Bearer ${apiKey()}`, "content-type": "application/json" } });
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const error = ErrorBody.safeParse(body);
      throw new ApiError(response.status, error.success ? `${error.data.error.code}: ${error.data.error.message}` : `HTTP ${response.status}`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new ApiError(response.status, `unexpected answer from ${path}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return parsed.data;
  }
  const job = (jobId: string) => `/v1/jobs/${encodeURIComponent(jobId)}`;
  return {
    jobs: (limit = 20) => call(JobList, `/v1/jobs?limit=${limit}`),
    job: (jobId: string) => call(Snapshot, `${job(jobId)}?detail=true`),
    rejections: (jobId: string) => call(RejectionList, `${job(jobId)}/rejections`),
    webhooks: (jobId: string) => call(WebhookDeliveryList, `${job(jobId)}/webhooks`),
    token: async (jobId: string) => (await call(TokenResponse, "/v1/tokens", { method: "POST", body: JSON.stringify({ job_ids: [jobId] }) })).token,
  };
}
export type Api = ReturnType<typeof createApi>;
