import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Event, Message } from "../core/contract/events.ts";
import type { Snapshot } from "../core/contract/snapshot.ts";
import { silentLog } from "../functions/config.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import {
  createHeadway,
  HeadwayApiError,
  HeadwayClosedError,
  HeadwayDeliveryError,
  HeadwayInvalidEventError,
  HeadwayUnavailableError,
  type Headway,
  type HeadwayOptions,
  type Job,
} from "../sdk/ts/index.ts";

let sandbox: Sandbox;
let sqs: SQSClient;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20, tickMs: 0 });
  sqs = new SQSClient({ region: "us-east-1", endpoint: sandbox.sqsEndpoint, credentials: { accessKeyId: "x", secretAccessKey: "x" } });
});
afterAll(async () => {
  sqs?.destroy();
  await sandbox?.stop();
});

type TransportName = "http" | "sqs";
const TRANSPORTS: TransportName[] = ["http", "sqs"];

/** A client on either transport; on SQS, jobs are still created over HTTP and events go to the queue. */
function client(transport: TransportName, options: Partial<HeadwayOptions> = {}): Headway {
  const sqsOption = transport === "sqs" ? { sqs: { client: sqs, queueUrl: sandbox.queueUrl, tenant: "default" } } : {};
  return createHeadway({ url: sandbox.http, apiKey: sandbox.apiKey, lingerMs: 50, ...sqsOption, ...options } as HeadwayOptions);
}

async function waitFor(job: Job, isThere: (snapshot: Snapshot) => boolean, timeoutMs = 20_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: Snapshot | undefined;
  while (Date.now() < deadline) {
    last = await job.snapshot({ detail: true });
    if (isThere(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${job.jobId} did not get there: ${JSON.stringify(last)}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fetch that records every event it carries to the API. */
function recordingFetch(sent: Event[]): typeof fetch {
  return async (input, init) => {
    if (typeof init?.body === "string" && String(input).endsWith("/events")) {
      const message = JSON.parse(init.body) as Message;
      sent.push(...("events" in message ? message.events : [message]));
    }
    return fetch(input, init);
  };
}

describe("producer SDK (TypeScript)", () => {
  describe.each(TRANSPORTS)("over %s", (transport) => {
    it("drives a planned job from declaration to 100 % and completed", async () => {
      const headway = client(transport);
      const job = await headway.createJob({
        plan: {
          steps: {
            encoded: { robot: "/video/encode", use: ":original", accepts: ["video/*"] },
            thumbs: { robot: "/video/thumbs", use: ":original", accepts: ["video/*"], results_per_input: 2, output_mime: "image/jpeg" },
            stored: { robot: "/s3/store", use: ["encoded", "thumbs"] },
          },
        },
        expectOriginals: 2,
      });
      expect(job.jobId).toMatch(/^job_/);
      expect(job.statusUrl).toBe(`${sandbox.http}/v1/jobs/${job.jobId}`);
      expect(job.subscriberToken).toEqual(expect.any(String));

      for (const file of ["f1", "f2"]) job.originalAdded(file, { mime: "video/mp4", source: "upload" });
      job.sealed(2);
      for (const file of ["f1", "f2"]) {
        const encode = job.execution("encoded", { originalId: file });
        encode.started();
        encode.progress(50, 100, { unit: "Frames", stepIndex: [0, 2], message: "first pass" });
        encode.completed([{ resultId: `${file}-video`, mime: "video/mp4" }]);
        job.execution("thumbs", { originalId: file }).completed([`${file}-t1`, `${file}-t2`]);
        for (const input of [`${file}-video`, `${file}-t1`, `${file}-t2`]) job.execution("stored", { originalId: file, inputId: input }).completed();
      }
      await headway.flush();
      const finishedWork = await waitFor(job, (s) => s.progress_combined === 100);
      expect(finishedWork.status).toBe("executing"); // a job ends only when the producer says so

      job.complete();
      await headway.close();
      const snapshot = await waitFor(job, (s) => s.status === "completed");
      expect(snapshot.progress_combined).toBe(100);
      expect(snapshot.progress_per_original_file).toEqual([
        { original_id: "f1", progress: 100 },
        { original_id: "f2", progress: 100 },
      ]);
    });

    it("counts only the last attempt of a retried task (indicator.reported running totals)", async () => {
      const creator = client("http");
      const { jobId } = await creator.createJob();
      // On SQS this client knows nothing but the queue: the job handle comes from its id.
      const headway = transport === "sqs" ? createHeadway({ sqs: { client: sqs, queueUrl: sandbox.queueUrl }, lingerMs: 50 }) : creator;
      const job = headway.job(jobId);
      expect(job.statusUrl).toBe(transport === "sqs" ? null : `${sandbox.http}/v1/jobs/${jobId}`);
      const watch = creator.job(jobId);

      const first = job.progress("pages", { taskId: "split" });
      first.add(10);
      first.done(4);
      first.done(2);
      job.progress({ taskId: "other" }).add(5);
      job.progress({ taskId: "other" }).done(5); // the same task attempt: one running total
      await headway.flush();
      await waitFor(watch, (s) => sumOf(s, "done") === 11 && sumOf(s, "total") === 15);

      const retried = job.progress("pages", { taskId: "split", attempt: 2 });
      retried.add(10);
      retried.done(3);
      await headway.flush();
      const snapshot = await waitFor(watch, (s) => sumOf(s, "done") === 8);
      expect(snapshot.indicators).toEqual([
        { label: null, done: 5, total: 5 },
        { label: "pages", done: 3, total: 10 },
      ]);
      // 8 / 15: the first attempt's 6 done no longer count; the figure on screen holds at 11 / 15 until truth passes it.
      expect(snapshot.detail!.true_progress_combined).toBe(53);
      expect(snapshot.progress_combined).toBe(73);

      job.complete();
      await headway.close();
      if (headway !== creator) await creator.close();
      expect((await waitFor(watch, (s) => s.status === "completed")).progress_combined).toBe(100);
    });

    it("loses nothing on close(), however long the linger: batches, full envelopes and held-back reporter values", async () => {
      const headway = client(transport, { lingerMs: 60_000 });
      const jobs = await Promise.all([0, 1, 2].map(() => headway.createJob()));
      for (const job of jobs) {
        for (let task = 0; task < 600; task++) {
          const counter = job.progress("items", { taskId: `task-${task}` });
          counter.add(2);
          counter.done(1);
        }
      }
      const reporterJob = await headway.createJob({ plan: { steps: { upload: { robot: "/upload/handle", use: ":original" } } }, originals: [{ originalId: "big", mime: "application/zip" }] });
      const reporter = reporterJob.execution("upload", { originalId: "big" }).reporter({ updateIntervalMs: 60_000, unit: "Bytes" });
      reporter.report(1, 100);
      reporter.report(42, 100, { message: "almost half" });

      await headway.close();
      expect(() => jobs[0]!.progress({ taskId: "late" }).add(1)).toThrow(HeadwayClosedError);
      expect(() => reporter.report(43, 100)).toThrow(HeadwayClosedError);
      for (const job of jobs) {
        const snapshot = await waitFor(job, (s) => s.indicators[0]?.done === 600);
        expect(snapshot.indicators).toEqual([{ label: "items", done: 600, total: 1200 }]);
      }
      const inFlight = await waitFor(reporterJob, (s) => s.detail?.in_flight[0]?.progress?.[0] === 42);
      expect(inFlight.detail!.in_flight[0]).toMatchObject({ step: "upload", progress: [42, 100], unit: "Bytes", message: "almost half" });
    });
  });

  it("throttles a reporter by time and still sends its last value (trailing flush)", async () => {
    const sent: Event[] = [];
    const headway = client("http", { fetch: recordingFetch(sent) });
    const job = await headway.createJob({ plan: { steps: { transfer: { robot: "/http/import", use: ":original" } } }, originals: [{ originalId: "f1" }], expectOriginals: 1 });
    const reporter = job.execution("transfer", { originalId: "f1" }).reporter({ updateIntervalMs: 300, unit: "Bytes" });
    for (let current = 3; current <= 87; current += 3) {
      reporter.report(current, 100, { message: `at ${current}` });
      await sleep(20);
    }
    // No more reports: the held-back 87 must still go out, by the reporter's own timer (no flush here).
    const snapshot = await waitFor(job, (s) => s.detail?.in_flight[0]?.progress?.[0] === 87, 5_000);
    expect(snapshot.detail!.in_flight[0]).toMatchObject({ progress: [87, 100], unit: "Bytes", message: "at 87" });
    expect(snapshot.detail!.true_progress_combined).toBe(87);
    const progressSent = sent.filter((event) => event.type === "step.progress").map((event) => (event.type === "step.progress" ? event.progress[0] : null));
    // 29 reports over ~600 ms at most one per 300 ms: the first, one or two in between, and the last.
    expect(progressSent[0]).toBe(3);
    expect(progressSent.at(-1)).toBe(87);
    expect(progressSent.length).toBeLessThanOrEqual(5);
    await headway.close();
  });

  it("throttles a reporter by units, sending a finished value at once", async () => {
    const sent: Event[] = [];
    const headway = client("http", { fetch: recordingFetch(sent), lingerMs: 10 });
    const job = await headway.createJob({ plan: { steps: { transfer: { robot: "/http/import", use: ":original" } } }, originals: [{ originalId: "f1" }], expectOriginals: 1 });
    const reporter = job.execution("transfer", { originalId: "f1" }).reporter({ updateStep: 1024 });
    for (let bytes = 100; bytes <= 4000; bytes += 100) reporter.report(bytes, 4096);
    reporter.report(4096, 4096);
    await headway.flush();
    const progressSent = sent.flatMap((event) => (event.type === "step.progress" ? [event.progress[0]] : []));
    expect(progressSent).toEqual([100, 1200, 2300, 3400, 4096]);
    await headway.close();
  });

  it("fills in event ids, times and attempts, and refuses a bad event at the call", async () => {
    const sent: Event[] = [];
    const headway = client("http", { fetch: recordingFetch(sent) });
    const job = await headway.createJob();
    const execution = job.execution("s", { originalId: "f1" });
    execution.started();
    execution.failed(new Error("disk full"), { willRetry: true });
    execution.retry().started();
    expect(() => execution.progress(5, 10, { stepIndex: [3, 2] })).toThrow(HeadwayInvalidEventError);
    try {
      job.execution("bad step id").started();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(HeadwayInvalidEventError);
      expect((error as HeadwayInvalidEventError).fields.map((f) => f.field)).toEqual(["step"]);
    }
    await headway.close();
    expect(sent.map((e) => [e.type, "attempt" in e ? e.attempt : null])).toEqual([
      ["step.started", 1],
      ["step.failed", 1],
      ["step.started", 2],
    ]);
    expect(new Set(sent.map((e) => e.event_id)).size).toBe(3);
    for (const event of sent) expect(Date.parse(event.at)).toBeGreaterThan(Date.now() - 60_000);
  });

  describe("against a flaky API (a local proxy that fails on purpose)", () => {
    let proxy: Server;
    let proxyUrl: string;
    /** What the proxy does with each coming request, in order; then it forwards to the sandbox. */
    let plan: ("503" | "429" | "reset")[] = [];
    let requests: string[] = [];

    beforeAll(async () => {
      proxy = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          requests.push(`${request.method} ${request.url}`);
          const failure = plan.shift();
          if (failure === "reset") return request.socket.destroy();
          if (failure === "503") return response.writeHead(503, { "content-type": "application/json" }).end('{"error":{"code":"unavailable","message":"try later"}}');
          if (failure === "429") return response.writeHead(429, { "retry-after": "0" }).end();
          void fetch(`${sandbox.http}${request.url}`, {
            method: request.method!,
            headers: { authorization: request.headers.authorization ?? "", "content-type": "application/json" },
            ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
          }).then(async (answer) => response.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text()));
        });
      });
      await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
      proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

    const flaky = (options: Partial<HeadwayOptions> = {}) =>
      createHeadway({ url: proxyUrl, apiKey: sandbox.apiKey, lingerMs: 20, retry: { baseDelayMs: 20, maxDelayMs: 200 }, ...options } as HeadwayOptions);

    it("retries 503, 429 and dropped connections, and the job still completes", async () => {
      requests = [];
      plan = ["503", "429", "reset"];
      const headway = flaky();
      const job = await headway.createJob({ jobId: "flaky-1" });
      expect(requests).toEqual(Array(4).fill("POST /v1/jobs"));

      plan = ["503", "reset", "429"];
      const counter = job.progress({ taskId: "t" });
      counter.add(4);
      counter.done(4);
      job.complete();
      await headway.close();
      expect(requests.slice(4)).toEqual(Array(4).fill("POST /v1/jobs/flaky-1/events"));
      const snapshot = await waitFor(job, (s) => s.status === "completed");
      expect(snapshot.indicators).toEqual([{ label: null, done: 4, total: 4 }]);
    });

    /** Creates a job whose first answer is lost (the request reaches the sandbox, its answer is replaced by a 503): the retry meets 409. */
    async function createWithLostAnswer(apiKey: string) {
      requests = [];
      const headway = flaky({ apiKey });
      plan = [];
      const original = proxy.listeners("request")[0] as (...args: unknown[]) => void;
      let isFirst = true;
      proxy.removeAllListeners("request");
      proxy.on("request", (request, response) => {
        if (!isFirst) return original(request, response);
        isFirst = false;
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () =>
          void fetch(`${sandbox.http}${request.url}`, { method: "POST", headers: { authorization: request.headers.authorization ?? "", "content-type": "application/json" }, body: Buffer.concat(chunks) }).then(() =>
            response.writeHead(503).end(),
          ),
        );
      });
      try {
        return await headway.createJob();
      } finally {
        proxy.removeAllListeners("request");
        proxy.on("request", original);
        await headway.close();
      }
    }

    it("recognises its own job when the answer to a created job was lost", async () => {
      const job = await createWithLostAnswer(sandbox.apiKey);
      expect(job.subscriberToken).toEqual(expect.any(String));
      expect(requests).toEqual(["POST /v1/jobs", "POST /v1/tokens"]);
      expect((await job.snapshot()).status).toBe("declared");
    });

    it("recognises its own job without a token when its key may not read (a worker's ingest-only key)", async () => {
      const made = await fetch(`${sandbox.http}/v1/admin/tenants/default/keys`, { method: "POST", headers: { authorization: `Bearer ${sandbox.adminToken}` }, body: JSON.stringify({ scopes: ["ingest"] }) });
      const { key } = (await made.json()) as { key: string };
      const job = await createWithLostAnswer(key);
      expect(job.subscriberToken).toBeNull();
      expect(requests).toEqual(["POST /v1/jobs", "POST /v1/tokens"]);
    });

    it("does not retry a refusal: createJob throws the API's fields", async () => {
      requests = [];
      const headway = flaky();
      const refused = await headway
        .createJob({ plan: { steps: { a: { robot: "/image/resize", use: ":original", results_per_inpt: 2 } as never } } })
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(HeadwayApiError);
      expect((refused as HeadwayApiError).status).toBe(400);
      expect((refused as HeadwayApiError).fields.map((f) => f.field)).toEqual(["plan.steps.a.results_per_inpt"]);
      expect(requests).toHaveLength(1);
      await headway.close();
    });

    it("reports a background refusal to onError, and flush() rejects with the lost events", async () => {
      const errors: Error[] = [];
      const headway = flaky({ onError: (error) => errors.push(error) });
      headway.job("no-such-job").progress({ taskId: "t" }).add(1);
      const flushed = await headway.flush().catch((error: unknown) => error);
      expect(flushed).toBeInstanceOf(HeadwayDeliveryError);
      const [failure] = (flushed as HeadwayDeliveryError).failures;
      expect(failure!.jobId).toBe("no-such-job");
      expect(failure!.events.map((e) => e.type)).toEqual(["indicator.reported"]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(HeadwayApiError);
      expect((errors[0] as HeadwayApiError).code).toBe("job_not_found");
      await headway.close(); // the failure was reported once: close() has nothing left to throw
    });

    it("gives up after its tries with HeadwayUnavailableError", async () => {
      plan = ["503", "503", "503"];
      const headway = flaky({ retry: { attempts: 3, baseDelayMs: 1 } });
      const refused = await headway.createJob().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(HeadwayUnavailableError);
      expect((refused as HeadwayUnavailableError).attempts).toBe(3);
      expect(plan).toEqual([]);
      await headway.close();
    });
  });
});

function sumOf(snapshot: Snapshot, field: "done" | "total"): number {
  return snapshot.indicators.reduce((sum, indicator) => sum + indicator[field], 0);
}
