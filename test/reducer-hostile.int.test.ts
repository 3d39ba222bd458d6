/**
 * The reducer against hostile input (docs/storage.md: invalid events never poison a batch): more than
 * 10,000 generated hostile messages mixed into the valid traffic of several jobs, through the real
 * handler and the real DynamoDB store (dynalite). No batch may fail because of a bad message, every
 * valid event must be applied (the state equals a fold of the valid events alone), and every bad
 * message or event must be rejected with a reason. The same harness is shown to catch planted bugs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Snapshot } from "../core/contract/snapshot.ts";
import { parseMessage, parseMessageBody, type ParsedMessage } from "../core/contract/ingest.ts";
import type { RejectionLog } from "../core/ports.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createDynamoStore } from "../functions/adapters/dynamo/store.ts";
import type { Log } from "../functions/config.ts";
import { createReducerHandler } from "../functions/reducer/index.ts";
import { newTable, startDynalite } from "./support/dynamo.ts";
import { fold } from "./support/fold.ts";
import { readJob } from "./support/store.ts";
import { fuzzTraffic } from "./support/hostile.ts";
import { drain, recordOf } from "./support/sqs-harness.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import type { Event } from "../core/contract/events.ts";

let emulator: { endpoint: string; close(): Promise<void> };
beforeAll(async () => {
  emulator = await startDynalite({ port: 0 });
});
afterAll(async () => emulator?.close());

function truth(snapshot: Snapshot) {
  const detail = snapshot.detail!;
  return { status: snapshot.status, combined: detail.true_progress_combined, files: detail.true_progress_per_original_file, indicators: snapshot.indicators, steps: detail.steps, inFlight: detail.in_flight };
}

interface FuzzReport {
  /** Everything that went wrong, in words; empty when the reducer held every rule. */
  problems: string[];
  rejected: number;
  recorded: number;
  messages: number;
}

/** Runs the traffic of one seed through a reducer (with the given message parser) and checks the three rules. */
async function runFuzz(options: { seed: number; jobs: number; hostileMessages: number; oversizedMessages: number; parse?: (body: string) => ParsedMessage }): Promise<FuzzReport> {
  const traffic = fuzzTraffic(options);
  const table = await newTable(emulator.endpoint);
  const real = createDynamoStore({ client: table.client, tableName: table.name, now: Date.now });
  let recorded = 0;
  const rejections: RejectionLog = {
    ...real.rejections,
    async record(records) {
      await real.rejections.record(records);
      recorded += records.length;
    },
  };
  const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const log: Log = (level, message, fields = {}) => logs.push({ level, message, fields });
  const handler = createReducerHandler({
    store: real,
    changeFeed: real.changeFeed,
    rejections,
    delayMessage: async () => {},
    log,
    now: Date.now,
    defaultTenant: "default",
    maxReceiveCount: 1000,
    pendingUnknownJobSeconds: 0, // events of an undeclared job are rejected at once (the valid jobs are declared first)
    ...(options.parse === undefined ? {} : { parse: options.parse }),
  });
  const problems: string[] = [];
  try {
    const declared = await drain(handler, traffic.declarations, { seed: options.seed, batchSize: 10, concurrency: 1, duplicateRate: 0 });
    const result = await drain(handler, traffic.messages, { seed: options.seed, batchSize: 100, concurrency: 1, duplicateRate: 0, maxRounds: 100_000 });
    if (declared.failures + result.failures > 0) problems.push(`${declared.failures + result.failures} deliveries reported as batch item failures`);
  } catch (error) {
    problems.push(`a batch failed: ${String(error).slice(0, 300)}`);
  }
  const errors = logs.filter((line) => line.level === "error");
  if (errors.length > 0) problems.push(`${errors.length} errors logged, first: ${errors[0]!.message} ${JSON.stringify(errors[0]!.fields).slice(0, 300)}`);
  const rejected = logs.filter((line) => line.message === "event rejected" || line.message === "event refused");
  if (rejected.length !== traffic.expectedRejections) problems.push(`${rejected.length} rejections for ${traffic.expectedRejections} bad messages and events`);
  const withoutReason = rejected.filter((line) => String(line.fields.reason ?? line.fields.code ?? "").length === 0);
  if (withoutReason.length > 0) problems.push(`${withoutReason.length} rejections without a reason`);
  for (const [jobId, events] of traffic.validEvents) {
    const loaded = await real.loadJob({ tenant: "default", jobId });
    if (loaded === null || loaded === "busy") {
      problems.push(`job ${jobId} was never stored`);
      continue;
    }
    const expected = truth(renderSnapshot(fold([events], jobId), { detail: true }));
    const actual = truth(renderSnapshot(loaded.state, { detail: true }));
    if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`job ${jobId} differs from the fold of its valid events`);
  }
  await table.close();
  return { problems, rejected: rejected.length, recorded, messages: traffic.messages.length };
}

describe("reducer under hostile input", () => {
  it("applies every valid event and rejects each of 10,000+ hostile messages with a reason, failing no batch", async () => {
    const report = await runFuzz({ seed: 20261130, jobs: 4, hostileMessages: 10_000, oversizedMessages: 3 });
    expect(report.problems).toEqual([]);
    expect(report.rejected).toBeGreaterThan(10_000);
    // Rejections that name a job are kept for GET /v1/jobs/{id}/rejections; the rest (not JSON, no job id) are logged only.
    expect(report.recorded).toBeGreaterThan(report.rejected / 2);
  }, 120_000);

  it("catches a planted bug: a parser without its per-message guard (JSON.parse unguarded)", async () => {
    const unguarded = (body: string) => parseMessage(JSON.parse(body) as unknown);
    const report = await runFuzz({ seed: 7, jobs: 1, hostileMessages: 300, oversizedMessages: 0, parse: unguarded });
    expect(report.problems.join("\n")).toMatch(/errors logged, first: message could not be parsed/);
  }, 60_000);

  it("catches a planted bug: a parser that drops a whole envelope for one bad event", async () => {
    const wholesale = (body: string): ParsedMessage => {
      const parsed = parseMessageBody(body);
      return parsed.rejections.length > 0 && parsed.isEnvelope ? { ...parsed, events: [] } : parsed;
    };
    const report = await runFuzz({ seed: 8, jobs: 2, hostileMessages: 300, oversizedMessages: 0, parse: wholesale });
    expect(report.problems.join("\n")).toMatch(/differs from the fold of its valid events/);
  }, 60_000);

  it("catches a planted bug: a parser that lets non-finite numbers through", async () => {
    const lenient = (body: string): ParsedMessage => parseMessageBody(body.replaceAll("1e400", "1"));
    const report = await runFuzz({ seed: 9, jobs: 2, hostileMessages: 500, oversizedMessages: 0, parse: lenient });
    expect(report.problems.join("\n")).toMatch(/rejections for \d+ bad messages and events/);
  }, 60_000);
});

describe("reducer: one message never costs another", () => {
  async function harness(parse?: (body: string) => ParsedMessage) {
    const table = await newTable(emulator.endpoint);
    const store = createDynamoStore({ client: table.client, tableName: table.name, now: Date.now });
    const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const handler = createReducerHandler({
      store,
      changeFeed: store.changeFeed,
      rejections: store.rejections,
      delayMessage: async () => {},
      log: (level, message, fields = {}) => logs.push({ level, message, fields }),
      now: Date.now,
      defaultTenant: "default",
      maxReceiveCount: 1000,
      pendingUnknownJobSeconds: 3600,
      ...(parse === undefined ? {} : { parse }),
    });
    return { store, logs, handler, close: () => table.close() };
  }
  const delivery = (body: string, messageId: string) => recordOf({ body, messageId, receives: 1, sentMs: Date.now() });
  const expectedOf = (events: Event[]) => truth(renderSnapshot(fold([events], events[0]!.job_id), { detail: true }));

  it.each([["constructor"], [["__proto__"]], ["toString"]])("applies another job's events in a batch with a plan whose step uses %j, and rejects the plan", async (use) => {
    const h = await harness();
    const good = eventFactory("job-good");
    const events = [good.plan(VIDEO_PLAN), good.original("f1", "video/mp4"), good.sealed(), good.progress("encoded", "f1", [1, 2])];
    const hostile = eventFactory("job-hostile").plan({ a: { robot: "/image/resize", use } } as never);
    const response = await h.handler({ Records: [delivery(JSON.stringify(hostile), "m-hostile"), ...events.map((event, i) => delivery(JSON.stringify(event), `m-${i}`))] });
    expect(response.batchItemFailures).toEqual([]);
    expect(truth(renderSnapshot((await readJob(h.store, "job-good")).state, { detail: true }))).toEqual(expectedOf(events));
    // The job never came to be: its refused plan is kept in the tenant's log.
    const [rejection] = await h.store.rejections.list("default", null, 10);
    expect(rejection).toMatchObject({ jobId: "job-hostile", code: "invalid_event", reason: expect.stringMatching(/^plan\.steps\.a\.use(\[0\])?: step "a" uses unknown step/) });
    expect(await h.store.loadJob({ tenant: "default", jobId: "job-hostile" })).toBeNull();
    await h.close();
  });

  it("hands back only the message whose valid-looking events make the core throw, and applies the job's other messages", async () => {
    // A planted fault: this parser lets through an event the estimator cannot take (progress: null).
    const faulty = (body: string): ParsedMessage => {
      const parsed = parseMessageBody(body.replace('"POISON"', '"x"'));
      return body.includes("POISON") ? { ...parsed, events: parsed.events.map((event) => ({ ...event, progress: null }) as unknown as Event) } : parsed;
    };
    const h = await harness(faulty);
    const e = eventFactory("job-iso");
    const declared = e.plan(VIDEO_PLAN);
    await h.handler({ Records: [delivery(JSON.stringify(declared), "m-declared")] });
    const rest = [e.original("f1", "video/mp4"), e.sealed(), e.progress("encoded", "f1", [1, 2]), e.completed("thumbs", "f1", { result_count: 8 })];
    const poison = { ...e.progress("thumbs", "f1", [1, 2]), message: "POISON" };
    const response = await h.handler({
      Records: [...rest.slice(0, 2).map((event, i) => delivery(JSON.stringify(event), `m-a${i}`)), delivery(JSON.stringify(poison), "m-poison"), ...rest.slice(2).map((event, i) => delivery(JSON.stringify(event), `m-b${i}`))],
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-poison" }]);
    expect(h.logs.find((line) => line.message === "events could not be applied")?.fields).toMatchObject({ job_id: "job-iso", message_id: "m-poison" });
    expect(truth(renderSnapshot((await readJob(h.store, "job-iso")).state, { detail: true }))).toEqual(expectedOf([declared, ...rest]));
    await h.close();
  });
});
