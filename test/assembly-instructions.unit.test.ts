/**
 * The rules that read Transloadit's Assembly Instructions (docs/events.md, "Plans: Transloadit's
 * Assembly Instructions"), one worked example each: what each robot's parameters make of result
 * counts, `use` in all its forms, steps without `use`, /file/filter's conditions, and the limits.
 */
import { describe, expect, it } from "vitest";
import { CreateJobRequest } from "../core/contract/http.ts";
import { LIMITS } from "../core/contract/fields.ts";
import { Plan } from "../core/contract/plan.ts";
import { type Event } from "../core/contract/events.ts";
import { issuesOf } from "../core/contract/issues.ts";
import { filterVerdict } from "../core/instructions/filter.ts";
import { eventFactory } from "./support/events.ts";
import { filesOf, snapshotOf } from "./support/fold.ts";

type Steps = Record<string, Record<string, unknown>>;

/** Per step, the executions predicted for a job of these originals (null: not known yet), and the combined figure. */
function predict(steps: Steps, originals: { id: string; mime: string; field?: string }[] = [], more: (e: ReturnType<typeof eventFactory>) => Event[] = () => []) {
  const e = eventFactory();
  const plan = Plan.parse({ steps });
  const events: Event[] = [e.plan(plan.steps, originals.length > 0 ? { expect_originals: originals.length } : {})];
  for (const original of originals) events.push(e.original(original.id, original.mime, original.field === undefined ? {} : { field: original.field }));
  events.push(...more(e));
  const snapshot = snapshotOf(events, { detail: true });
  return {
    steps: Object.fromEntries(snapshot.detail!.steps.map((step) => [step.step, step.predicted])),
    combined: snapshot.progress_combined,
    files: filesOf(snapshot),
  };
}

const mp4 = { id: "clip", mime: "video/mp4" };
const jpg = { id: "photo", mime: "image/jpeg" };
const pdf = { id: "report", mime: "application/pdf" };

describe("result counts from robot parameters", () => {
  it("makes `count` thumbnails with /video/thumbs, 8 by default, and one per offset when offsets are given", () => {
    expect(predict({ t: { robot: "/video/thumbs", use: ":original", count: 3 }, s: { robot: "/s3/store", use: "t" } }, [mp4]).steps).toEqual({ t: 1, s: 3 });
    expect(predict({ t: { robot: "/video/thumbs", use: ":original" }, s: { robot: "/s3/store", use: "t" } }, [mp4]).steps).toEqual({ t: 1, s: 8 });
    expect(predict({ t: { robot: "/video/thumbs", use: ":original", count: 3, offsets: [1, "50%"] }, s: { robot: "/s3/store", use: "t" } }, [mp4]).steps).toEqual({ t: 1, s: 2 });
  });

  it("keeps an assembly variable as text: a count given as one is not known until the step completes", () => {
    const steps = { t: { robot: "/video/thumbs", use: ":original", count: "${fields.thumbs}" }, s: { robot: "/s3/store", use: "t" } };
    expect((Plan.parse({ steps }).steps.t as Record<string, unknown>).count).toBe("${fields.thumbs}");
    expect(predict(steps, [mp4])).toMatchObject({ steps: { t: 1, s: null }, combined: null });
  });

  it("makes one image per page with /document/thumbs, one with `page` or an animated gif", () => {
    expect(predict({ t: { robot: "/document/thumbs", use: ":original" } }, [pdf]).combined).toBeNull();
    expect(predict({ t: { robot: "/document/thumbs", use: ":original", page: 2 }, s: { robot: "/s3/store", use: "t" } }, [pdf])).toMatchObject({ steps: { t: 1, s: 1 }, combined: 0 });
    expect(predict({ t: { robot: "/document/thumbs", use: ":original", format: "gif" }, s: { robot: "/s3/store", use: "t" } }, [pdf]).steps).toEqual({ t: 1, s: 1 });
  });

  it("makes one archive per input with /file/compress, one per job with bundle_steps, one per original with group_by_original", () => {
    const originals = [mp4, jpg, pdf];
    expect(predict({ z: { robot: "/file/compress", use: ":original" } }, originals).steps).toEqual({ z: 3 });
    expect(predict({ z: { robot: "/file/compress", use: { steps: [":original"], bundle_steps: true } } }, originals).steps).toEqual({ z: 1 });
    expect(predict({ z: { robot: "/file/compress", use: { steps: [":original"], bundle_steps: true, group_by_original: true } } }, originals).steps).toEqual({ z: 3 });
  });

  it("runs a robot that works per file once per original over that original's renditions with bundle_steps", () => {
    const steps = {
      low: { robot: "/video/encode", use: ":original", preset: "hls/480p" },
      high: { robot: "/video/encode", use: ":original", preset: "hls/1080p" },
      merged: { robot: "/file/hash", use: { steps: ["low", "high"], bundle_steps: true } },
    };
    expect(predict(steps, [mp4, { id: "clip2", mime: "video/webm" }, jpg]).steps).toEqual({ low: 2, high: 2, merged: 2 });
  });

  it("runs a robot that joins its inputs once per job, bundled or not", () => {
    for (const robot of ["/video/concat", "/audio/concat", "/video/merge", "/audio/merge"]) {
      expect(predict({ j: { robot, use: ":original" }, s: { robot: "/s3/store", use: "j" } }, [mp4, jpg]).steps).toEqual({ j: 1, s: 1 });
    }
  });

  it("keeps content-dependent robots unpredictable: /image/facedetect with faces each (cropped), /document/split, /file/decompress, /video/adaptive", () => {
    expect(predict({ f: { robot: "/image/facedetect", use: ":original", crop: true } }, [jpg]).combined).toBeNull();
    expect(predict({ f: { robot: "/image/facedetect", use: ":original", crop: true, faces: "max-confidence" }, s: { robot: "/s3/store", use: "f" } }, [jpg]).steps).toEqual({ f: 1, s: 1 });
    expect(predict({ f: { robot: "/image/facedetect", use: ":original" }, s: { robot: "/s3/store", use: "f" } }, [jpg]).steps).toEqual({ f: 1, s: 1 });
    expect(predict({ d: { robot: "/document/split", use: ":original" } }, [pdf]).combined).toBeNull();
    expect(predict({ d: { robot: "/file/decompress", use: ":original" } }, [{ id: "z", mime: "application/zip" }]).combined).toBeNull();
    expect(predict({ a: { robot: "/video/adaptive", use: ":original" } }, [mp4]).combined).toBeNull();
  });

  it("splits into one file per segment with /video/split and /audio/split", () => {
    const segments = [{ from: 0, to: 5 }, { from: 5, to: 9 }];
    expect(predict({ v: { robot: "/video/split", use: ":original", segments }, s: { robot: "/s3/store", use: "v" } }, [mp4]).steps).toEqual({ v: 1, s: 2 });
  });
});

describe("imports and other sources", () => {
  const dirs = ["/s3/import", "/azure/import", "/google/import", "/ftp/import", "/sftp/import", "/dropbox/import", "/swift/import", "/backblaze/import", "/minio/import", "/wasabi/import", "/digitalocean/import", "/cloudflare/import", "/supabase/import", "/tigris/import", "/box/import"];

  it.each(dirs)("keeps %s of a directory unpredictable, and of a file one file", (robot) => {
    const then = { stored: { robot: "/s3/store", use: "imported" } };
    expect(predict({ imported: { robot, path: "incoming/" }, ...then }).combined).toBeNull();
    expect(predict({ imported: { robot, path: "incoming/a.mp4", recursive: true }, ...then }).combined).toBeNull();
    expect(predict({ imported: { robot, path: "incoming/a.mp4" }, ...then })).toMatchObject({ steps: { imported: 1, stored: 1 }, combined: 0 });
    expect(predict({ imported: { robot, path: ["a.mp4", "b.mp4"] }, ...then }).steps).toEqual({ imported: 1, stored: 2 });
  });

  it("imports one file per URL with /http/import: a list, or split on | (or url_delimiter)", () => {
    const then = { stored: { robot: "/s3/store", use: "imported" } };
    expect(predict({ imported: { robot: "/http/import", url: ["https://a/1", "https://a/2", "https://a/3"] }, ...then }).steps).toEqual({ imported: 1, stored: 3 });
    expect(predict({ imported: { robot: "/http/import", url: "https://a/1|https://a/2" }, ...then }).steps).toEqual({ imported: 1, stored: 2 });
    expect(predict({ imported: { robot: "/http/import", url: "https://a/1;https://a/2", url_delimiter: ";" }, ...then }).steps).toEqual({ imported: 1, stored: 2 });
  });

  it("runs robots that need no input once per job: /image/generate and /video/generate (num_outputs results), /html/convert given a url", () => {
    expect(predict({ g: { robot: "/image/generate", prompt: "a cat", num_outputs: 3 }, s: { robot: "/s3/store", use: "g" } }).steps).toEqual({ g: 1, s: 3 });
    expect(predict({ g: { robot: "/video/generate", prompt: "a cat" }, s: { robot: "/s3/store", use: "g" } }).steps).toEqual({ g: 1, s: 1 });
    expect(predict({ h: { robot: "/html/convert", url: "https://example.com" }, s: { robot: "/s3/store", use: "h" } }).steps).toEqual({ h: 1, s: 1 });
  });

  it("declares :original with /upload/handle, and a use of any /upload/handle step reads the uploads", () => {
    expect(predict({ ":original": { robot: "/upload/handle" }, s: { robot: "/s3/store", use: ":original" } }, [mp4, jpg]).steps).toEqual({ s: 2 });
    expect(predict({ uploads: { robot: "/upload/handle" }, s: { robot: "/s3/store", use: "uploads" } }, [mp4, jpg]).steps).toEqual({ s: 2 });
  });
});

describe("steps without use", () => {
  it("reads the step declared just before, or the uploads when it is the first step", () => {
    const steps = { resized: { robot: "/image/resize", width: 100 }, optimized: { robot: "/image/optimize" }, stored: { robot: "/s3/store" } };
    expect(predict(steps, [jpg, mp4]).steps).toEqual({ resized: 1, optimized: 1, stored: 1 });
  });

  it("treats an import as a source, not as reading the step before it", () => {
    const steps = { resized: { robot: "/image/resize", use: ":original" }, imported: { robot: "/http/import", url: "https://a/1" }, stored: { robot: "/s3/store" } };
    expect(predict(steps, [jpg]).steps).toEqual({ resized: 1, imported: 1, stored: 1 });
  });
});

describe("use in all its forms", () => {
  it("takes a name, a list, a list of {name}, and the object form", () => {
    for (const use of [":original", [":original"], [{ name: ":original" }], { steps: [":original"] }, { steps: ":original" }]) {
      expect(predict({ s: { robot: "/s3/store", use } }, [mp4, jpg]).steps).toEqual({ s: 2 });
    }
  });

  it("selects originals by the form field they came in through; originals that name no field pass", () => {
    const steps = { s: { robot: "/s3/store", use: { steps: [":original"], fields: ["avatar"] } }, t: { robot: "/s3/store", use: [{ name: ":original", fields: "cover" }] } };
    const originals = [
      { id: "a", mime: "image/png", field: "avatar" },
      { id: "c", mime: "image/png", field: "cover" },
      { id: "n", mime: "image/png" },
    ];
    expect(predict(steps, originals).steps).toEqual({ s: 2, t: 2 });
  });

  it("runs once per file of its first `as` role; the other roles ride along", () => {
    const steps = {
      watermark: { robot: "/http/import", url: "https://a/w.png" },
      resized: { robot: "/image/resize", use: { steps: [{ name: ":original", as: "base" }, { name: "watermark", as: "watermark" }] } },
    };
    expect(predict(steps, [jpg, { id: "p2", mime: "image/png" }]).steps).toEqual({ watermark: 1, resized: 2 });
  });
});

describe("/file/filter", () => {
  const filtered = (condition: Record<string, unknown>) => ({ f: { robot: "/file/filter", use: ":original", ...condition }, s: { robot: "/s3/store", use: "f" } });

  it("evaluates conditions that read the MIME type, type or extension before the step runs", () => {
    expect(predict(filtered({ accepts: [["${file.mime}", "regex", "image"]] }), [mp4, jpg]).steps).toEqual({ f: 2, s: 1 });
    expect(predict(filtered({ declines: [["${file.type}", "==", "video"]] }), [mp4, jpg]).steps).toEqual({ f: 2, s: 1 });
    expect(predict(filtered({ accepts: [["${file.ext}", "regex", "^jpe?g$"]] }), [mp4, jpg]).steps).toEqual({ f: 2, s: 1 });
    expect(predict(filtered({ accepts: [["${file.mime}", "==", "video/mp4"], ["${file.mime}", "==", "image/jpeg"]] }), [mp4, jpg]).steps).toEqual({ f: 2, s: 2 });
    expect(predict(filtered({ accepts: [["${file.mime}", "regex", "image"], ["${file.ext}", "==", "png"]], condition_type: "and" }), [jpg]).steps).toEqual({ f: 1, s: 0 });
  });

  it("leaves a file's count unknown until the filter completes when a condition reads anything else", () => {
    expect(predict(filtered({ accepts: [["${file.size}", "<=", "20mb"]] }), [jpg])).toMatchObject({ steps: { f: 1, s: null }, combined: null });
    expect(predict(filtered({ accepts: "${file.meta.width > file.meta.height}" }), [jpg]).combined).toBeNull();
    const done = predict(filtered({ accepts: [["${file.size}", "<=", "20mb"]] }), [jpg], (e) => [e.completed("f", "photo", { result_count: 1 })]);
    expect(done).toMatchObject({ steps: { f: 1, s: 1 }, combined: 50 });
  });

  it("decides what it can even next to what it cannot: an or that one known condition passes passes", () => {
    expect(predict(filtered({ accepts: [["${file.mime}", "regex", "image"], ["${file.size}", ">", "1kb"]] }), [jpg]).steps).toEqual({ f: 1, s: 1 });
    expect(predict(filtered({ accepts: [["${file.mime}", "regex", "image"], ["${file.size}", ">", "1kb"]] }), [mp4]).steps).toEqual({ f: 1, s: null });
  });

  it("follows the documented semantics of each operator", () => {
    const rule = (conditions: unknown[][], isAnd = false) => ({ accepts: conditions, declines: undefined, isAnd });
    expect(filterVerdict(rule([["${file.mime}", "!regex", "^image/"]]), "image/png")).toBe(false);
    expect(filterVerdict(rule([["${file.mime}", "includes", "png"]]), "image/png")).toBe(true);
    expect(filterVerdict(rule([["${file.ext}", "===", "png"]]), "image/png")).toBe(true);
    expect(filterVerdict(rule([["${file.ext}", "==", "jpg"]]), "image/jpeg")).toBeNull(); // jpg or jpeg: cannot tell
    expect(filterVerdict(rule([["${file.type}", "==", "image"]]), "application/pdf")).toBeNull();
    expect(filterVerdict(rule([["${file.mime}", "regex", "(a"]]), "image/png")).toBeNull(); // RE2 refuses the pattern
    expect(filterVerdict(rule([]), "image/png")).toBe(false); // an empty accepts list accepts nothing
    expect(filterVerdict({ accepts: null, declines: [], isAnd: false }, "image/png")).toBe(true);
  });
});

describe("what a plan may contain", () => {
  it("takes the whole Assembly Instructions object and keeps only its steps", () => {
    const instructions = { auth: { key: "k", expires: "2026/01/01 00:00:00+00:00" }, template_id: "t", fields: { a: 1 }, notify_url: "https://x", allow_steps_override: false, steps: { s: { robot: "/s3/store", use: ":original" } } };
    expect(Plan.parse(instructions)).toEqual({ steps: instructions.steps });
  });

  it("keeps robot parameters of any shape, and refuses those nested deeper than 32 levels or not finite", () => {
    const step = { robot: "/video/encode", use: ":original", ffmpeg: { vf: "scale=640:-2", "b:v": "1M" }, ffmpeg_stack: "v6", result: "true" };
    expect(Plan.parse({ steps: { e: step } }).steps.e).toEqual(step);
    let deep: unknown = 1;
    for (let level = 0; level < 40; level++) deep = [deep];
    const issues = issuesOf(Plan.safeParse({ steps: { e: { robot: "/x", use: ":original", deep, big: 1e400 } } }).error!);
    expect(issues.map((issue) => issue.field).sort()).toEqual(["steps.e.big", "steps.e.deep"]);
  });

  it(`refuses a plan over ${LIMITS.planBytes} bytes, naming the field, on POST /v1/jobs`, () => {
    const steps: Steps = {};
    for (let i = 0; i < 100; i++) steps[`s${i}`] = { robot: "/s3/store", use: ":original", note: "x".repeat(700) };
    const result = CreateJobRequest.safeParse({ plan: { steps } });
    expect(issuesOf(result.error!).map((issue) => issue.field)).toEqual(["plan.steps"]);
    expect(issuesOf(result.error!)[0]!.message).toMatch(/^the steps take \d+ bytes as JSON; a plan takes at most 65536$/);
  });

  it("refuses accepts of the wrong kind for its robot", () => {
    expect(Plan.safeParse({ steps: { f: { robot: "/file/filter", use: ":original", accepts: ["image/*"] } } }).success).toBe(false);
    expect(Plan.safeParse({ steps: { r: { robot: "/image/resize", use: ":original", accepts: [["${file.mime}", "regex", "image"]] } } }).success).toBe(false);
  });
});
