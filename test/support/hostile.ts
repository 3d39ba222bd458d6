/**
 * Valid traffic with hostile messages mixed in, for the reducer's fuzz test. Seeded: a failing
 * case replays from its seed. Every hostile item says how many rejections it must produce, so the
 * test can check that each bad message or event was rejected — and each valid one applied.
 */
import type { Event } from "../../core/contract/events.ts";
import type { Plan } from "../../core/contract/plan.ts";
import { seededRandom } from "./seeded-random.ts";
import { eventFactory, VIDEO_PLAN } from "./events.ts";

export interface FuzzTraffic {
  /** The `job.declared` of each valid job, to deliver before the rest. */
  declarations: string[];
  /** Valid messages, hostile messages and envelopes mixing both, shuffled. */
  messages: string[];
  /** Per job, every valid event (the declaration included): what the reducer must apply. */
  validEvents: Map<string, Event[]>;
  /** How many rejections the hostile input must produce, one per bad message or bad event of an envelope. */
  expectedRejections: number;
  hostileMessages: number;
}

/** Declared steps named like Object.prototype members, so the estimator meets them too. */
const PROTOTYPE_PLAN: Plan["steps"] = {
  ...VIDEO_PLAN,
  constructor: { robot: "/image/optimize", use: ["resized"], accepts: ["image/*"] },
  toString: { robot: "/s3/store", use: ["constructor"], per: "job" as const },
};

const ORIGINAL_IDS = ["f0", "f1", "f2", "constructor", "__proto__", "toString", "hasOwnProperty", "f3"];
const MIMES = ["video/mp4", "image/png", "application/zip", "image/jpeg"];
const STEPS_BY_MIME: Record<string, string[]> = {
  "video/mp4": ["thumbs", "encoded"],
  "image/png": ["resized", "constructor"],
  "image/jpeg": ["resized", "constructor", "valueOf"], // valueOf: a step the plan lacks (kept, not estimated)
  "application/zip": ["unzipped"],
};

function validJob(jobId: string, random: () => number): Event[] {
  const e = eventFactory(jobId);
  const events: Event[] = [e.plan(PROTOTYPE_PLAN, { emit_execution_progress: true })];
  ORIGINAL_IDS.forEach((id, i) => {
    const mime = MIMES[i % MIMES.length]!;
    events.push(e.original(id, mime));
    for (const step of STEPS_BY_MIME[mime]!) {
      events.push(e.started(step, id));
      events.push(e.progress(step, id, [Math.floor(random() * 100), 100], { unit: "Bytes", message: "Übertragung läuft" }));
      if (random() < 0.2) events.push(e.failed(step, id, true), e.completed(step, id, { attempt: 2, result_count: step === "thumbs" ? 8 : 1 }));
      else events.push(e.completed(step, id, { result_count: step === "thumbs" ? 8 : 1 }));
    }
    const label = ["tiles", null, "étiquette", "🙂 emoji", "constructor"][i % 5]!;
    events.push(e.added(4, `task-${i}`, { label }), e.done(1 + Math.floor(random() * 4), `task-${i}`, { label }));
  });
  events.push(e.sealed());
  return events;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function deep(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** A copy of a valid event's JSON that the contract must refuse, whatever its type. */
function spoilEvent(json: string, random: () => number): string {
  const event = JSON.parse(json) as Record<string, unknown>;
  const set = (key: string, valueJson: string) => {
    const rest = JSON.stringify({ ...event, [key]: 0 });
    return rest.replace(`"${key}":0`, `"${key}":${valueJson}`);
  };
  const spoilers: (() => string)[] = [
    () => JSON.stringify({ ...event, event_id: undefined }),
    () => JSON.stringify({ ...event, at: 1_763_805_600 }),
    () => JSON.stringify({ ...event, at: "yesterday" }),
    () => JSON.stringify({ ...event, v: 2 }),
    () => JSON.stringify({ ...event, type: pick(random, ["step.teleported", "constructor", "__proto__", "toString", ""]) }),
    () => JSON.stringify({ ...event, job_id: pick(random, ["has space", "x".repeat(200), "tab\there", "nul\u0000"]) }),
    () => JSON.stringify({ ...event, event_id: 12 }),
    () => `{"__proto__":{"polluted":true},${json.slice(1)}`,
    () => `{"constructor":{"prototype":{"polluted":true}},${json.slice(1)}`,
    () => JSON.stringify({ ...event, [pick(random, ["input_ids", "orignal_id", "atempt", "extra", "toString"])]: "x" }),
    () => set("at", deep(1 + Math.floor(random() * 5000))),
    () => set("event_id", pick(random, ["1e400", "-1e400", "null", "true", "{}", "[]"])),
    () => set("v", pick(random, ["1e400", "1.0000001", "\"1\"", "[1]"])),
    () => JSON.stringify({ ...event, job_id: "x".repeat(20_000 + Math.floor(random() * 40_000)) }),
  ];
  const type = event.type as string;
  if (type.startsWith("step.")) {
    spoilers.push(
      () => set("attempt", pick(random, ["1e400", "-1", "1.5", "\"1\"", "null", "1e7"])),
      () => JSON.stringify({ ...event, attempt: undefined }),
      () => JSON.stringify({ ...event, step: pick(random, ["enc oded", "a\u0000b", "", "x".repeat(129), "é"]) }),
      () => JSON.stringify({ ...event, original_id: pick(random, [5, "a/b", "\u202e", null]) }),
    );
  }
  if (type === "step.progress") {
    spoilers.push(
      () => set("progress", pick(random, ["0.4", "[1e400,1]", "[1,1e17]", "[-1,2]", "[1]", "[1,2,3]", "{}", deep(3000)])),
      () => JSON.stringify({ ...event, unit: pick(random, ["", "By\u0000tes", "x".repeat(41)]) }),
      () => JSON.stringify({ ...event, message: "m".repeat(2_001 + Math.floor(random() * 100_000)) }),
      () => JSON.stringify({ ...event, step_index: pick(random, [[2, 2], [-1, 3], [0, 0], "1/2"]) }),
    );
  }
  if (type === "step.completed") {
    spoilers.push(
      () => set("result_count", pick(random, ["1e400", "1000001", "-1", "1.5", "9007199254740993"])),
      () => JSON.stringify({ ...event, result_count: undefined }),
      () => JSON.stringify({ ...event, results: [{ result_id: "r1", mime: "image/png\u0000" }] }),
      () => JSON.stringify({ ...event, results: [{ result_id: "r1", __proto__x: 1 }] }),
    );
  }
  if (type === "step.failed") spoilers.push(() => JSON.stringify({ ...event, error: "e".repeat(4_001 + Math.floor(random() * 100_000)) }));
  if (type.startsWith("indicator.")) {
    spoilers.push(
      () => set("amount", pick(random, ["1e400", "1e13", "-1", "\"3\"", "null"])),
      () => JSON.stringify({ ...event, label: pick(random, ["a\u0000b", "line\nbreak", "\ud800lone", "l".repeat(101), 7]) }),
      () => JSON.stringify({ ...event, task_id: pick(random, ["t 1", "", "\u0000"]) }),
    );
  }
  if (type === "original.added") {
    spoilers.push(() => JSON.stringify({ ...event, mime: pick(random, ["video/mp4\u0000", "video", "text/plain; charset=utf-8", "x".repeat(300) + "/y", 4]) }));
  }
  if (type === "job.declared") {
    const use = pick(random, ['"constructor"', '["__proto__"]', '"toString"', '"hasOwnProperty"', '"ghost"']);
    spoilers.push(
      () => set("plan", `{"steps":{"a":{"robot":"/image/resize","use":${use}}}}`),
      () => set("plan", `{"steps":{"a":{"robot":"/x","use":":original","results_per_inpt":2}}}`),
      () => set("plan", `{"steps":{"a":{"robot":"/x","use":"b"},"b":{"robot":"/x","use":"a"}}}`),
      () => set("plan", `{"steps":{"a":{"robot":"/x","use":":original","weight":1e400}}}`),
      () => set("orginals", "[]"),
      () => set("expect_originals", pick(random, ["1e400", "-1", "\"many\"", "1e20"])),
    );
  }
  return pick(random, spoilers)();
}

/** A whole message that is not a valid message at all: one rejection. */
function hostileMessage(random: () => number, validJson: string, jobId: string): string {
  const kinds: (() => string)[] = [
    () => validJson.slice(0, Math.floor(random() * validJson.length)), // truncated
    () => pick(random, ["", " ", "{", "}", "nope", "NaN", "undefined", "'single'", "{\"v\":1,}"]),
    () => pick(random, ["null", "true", "0", "1e400", "\"event\"", "[]", `[${validJson}]`]),
    () => `{"v":1,"events":${pick(random, ['"x"', "{}", "[]", "null", deep(5_000)])}}`,
    () => `{"v":1,"events":[${validJson}],"job_id":"${jobId}"}`,
    () => `{"v":2,"events":[${validJson}]}`,
    () => deep(1 + Math.floor(random() * 5_000)),
    () => `{"a":${deep(2_000)}}`,
    () => spoilEvent(validJson, random),
  ];
  return pick(random, kinds)();
}

/**
 * `oversizedMessages` bodies over 1 MiB and as many nested 100,000 deep are added to the hostile
 * ones: few, because JSON.parse alone takes about 40 ms for such nesting.
 */
export function fuzzTraffic(options: { seed: number; jobs: number; hostileMessages: number; oversizedMessages: number }): FuzzTraffic {
  const random = seededRandom(options.seed);
  const validEvents = new Map<string, Event[]>();
  const declarations: string[] = [];
  const messages: string[] = [];
  let expectedRejections = 0;
  let hostileMessages = 0;
  const jobIds = Array.from({ length: options.jobs }, (_, i) => `job-fuzz-${i}`);
  for (const jobId of jobIds) {
    const [declared, ...rest] = validJob(jobId, random);
    validEvents.set(jobId, [declared!, ...rest]);
    declarations.push(JSON.stringify(declared));
    // Valid events in envelopes of 1–6, some of them with bad events (of any kind) slipped in after the first valid one.
    for (let i = 0; i < rest.length; ) {
      const size = 1 + Math.floor(random() * 6);
      const parts = rest.slice(i, i + size).map((event) => JSON.stringify(event));
      i += size;
      if (random() < 0.3) {
        const bad = 1 + Math.floor(random() * 2);
        for (let b = 0; b < bad; b++) {
          const at = 1 + Math.floor(random() * parts.length);
          const source = pick(random, rest);
          const spoiled =
            random() < 0.15
              ? JSON.stringify({ ...source, event_id: `intruder-${b}-${i}`, job_id: pick(random, jobIds.filter((id) => id !== jobId).concat("job-other")) }) // a valid event of another job: wrong_job
              : spoilEvent(JSON.stringify(source), random);
          parts.splice(at, 0, spoiled);
        }
        expectedRejections += bad;
      }
      messages.push(parts.length === 1 && random() < 0.5 ? parts[0]! : `{"v":1,"events":[${parts.join(",")}]}`);
    }
  }
  const everyValid = [...validEvents.values()].flat();
  const undeclaring = everyValid.filter((event) => event.type !== "job.declared");
  for (let i = 0; i < options.hostileMessages; i++) {
    const source = pick(random, everyValid);
    hostileMessages++;
    if (random() < 0.1) {
      // Valid events of a job nobody declared: rejected as unknown_job once the reducer stops waiting.
      const ghost = { ...pick(random, undeclaring), job_id: `job-ghost-${i % 7}`, event_id: `ghost-${i}` };
      messages.push(random() < 0.5 ? JSON.stringify(ghost) : JSON.stringify({ v: 1, events: [ghost] }));
    } else if (random() < 0.3) {
      // An envelope of bad events only: each is rejected alone.
      const count = 1 + Math.floor(random() * 2);
      const parts = Array.from({ length: count }, () => spoilEvent(JSON.stringify(pick(random, everyValid)), random));
      messages.push(`{"v":1,"events":[${parts.join(",")}]}`);
      expectedRejections += count - 1;
    } else {
      messages.push(hostileMessage(random, JSON.stringify(source), source.job_id));
    }
    expectedRejections++;
  }
  for (let i = 0; i < options.oversizedMessages; i++) {
    messages.push(JSON.stringify({ ...pick(random, everyValid), message: "x".repeat(1024 * 1024) }));
    messages.push(i % 2 === 0 ? deep(100_000) : `{"v":1,"events":[${deep(100_000)}]}`);
    hostileMessages += 2;
    expectedRejections += 2;
  }
  // Shuffle (Fisher–Yates, seeded).
  for (let i = messages.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [messages[i], messages[j]] = [messages[j]!, messages[i]!];
  }
  return { declarations, messages, validEvents, expectedRejections, hostileMessages };
}
