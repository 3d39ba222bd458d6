/**
 * The HTTP API as the SDK uses it: authenticated JSON requests with retries on 429, 5xx, network
 * errors and timeouts; any other 4xx becomes a HeadwayApiError carrying the API's fields.
 * It is also a transport: a job's envelopes go to `POST /v1/jobs/{id}/events`, one request each.
 * Retrying an ingest request is safe: every merge of the reducer is idempotent by `event_id`.
 */
import { ErrorBody } from "../../core/contract/http.ts";
import { type Message } from "../../core/contract/events.ts";
import { HeadwayApiError } from "./errors.ts";
import { Retryable, retryAfterMsOf, withRetries, type RetryPolicy } from "./retry.ts";
import type { Transport } from "./transport.ts";

export interface HttpApiOptions {
  url: string;
  apiKey: string;
  retry: RetryPolicy;
  requestTimeoutMs: number;
  fetch: typeof globalThis.fetch;
  now: () => number;
}

export interface HttpApi extends Transport {
  readonly url: string;
  /** One request with retries; resolves with the parsed JSON body of a 2xx answer. */
  request(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown>;
}

export function createHttpApi(options: HttpApiOptions): HttpApi {
  const url = options.url.replace(/\/+$/, "");

  async function once(method: string, path: string, body: string | undefined): Promise<unknown> {
    let response: Response;
    try {
      response = await options.fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${options.apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
    } catch (error) {
      throw new Retryable(error); // refused, reset, DNS, timeout: the request may be sent again
    }
    const text = await response.text().catch((error: unknown) => {
      throw new Retryable(error);
    });
    if (response.status === 429 || response.status >= 500) {
      throw new Retryable(new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`), retryAfterMsOf(response.headers.get("retry-after"), options.now()));
    }
    const json = parseJson(text);
    if (!response.ok) {
      const parsed = ErrorBody.safeParse(json);
      throw new HeadwayApiError(response.status, parsed.success ? parsed.data.error : { code: `http_${response.status}`, message: text.slice(0, 200) || response.statusText });
    }
    return json;
  }

  const request: HttpApi["request"] = (method, path, body) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return withRetries(`${method} ${path}`, options.retry, () => once(method, path, text));
  };

  return {
    url,
    request,
    async send(jobId, messages: Message[]) {
      for (const message of messages) await request("POST", `/v1/jobs/${encodeURIComponent(jobId)}/events`, message);
    },
  };
}

function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
