/**
 * The docs' examples are real: every event line of every NDJSON block in the README and docs/
 * parses, the reference log replays to a finished job, and the README's tour (its curl bodies)
 * is accepted by the API's schemas and shows the figures the README says it shows.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CreateJobRequest } from "../core/contract/http.ts";
import { EVENT_TYPES, type Event } from "../core/contract/events.ts";
import { foldEvents } from "../core/estimator/reduce.ts";
import { parseMessageBody } from "../core/contract/ingest.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";

const root = new URL("../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const docs = readdirSync(new URL("docs/", root))
  .filter((name) => name.endsWith(".md"))
  .map((name) => ({ name: `docs/${name}`, text: readFileSync(new URL(`docs/${name}`, root), "utf8") }));
const pages = [{ name: "README.md", text: readme }, ...docs];

const blocks = (text: string, language: string) => [...text.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((match) => match[1]!);

describe("the docs' NDJSON examples", () => {
  const lines = pages.flatMap(({ name, text }) =>
    blocks(text, "ndjson").flatMap((block) => block.split("\n").filter((line) => line.trim() !== "").map((line) => ({ name, line }))),
  );

  it("are valid events, every one of them", () => {
    expect(lines.length).toBeGreaterThanOrEqual(12);
    for (const { name, line } of lines) expect(parseMessageBody(line).rejections, `${name}: ${line}`).toEqual([]);
  });

  it("name every event type of the contract in the event reference's table", () => {
    const page = docs.find(({ name }) => name === "docs/events.md")!.text;
    const start = page.indexOf("| `type` | required |");
    expect(start).toBeGreaterThanOrEqual(0);
    const reference = page.slice(start, page.indexOf("\n\n", start));
    // The table's first column: `| \`job.completed\` / \`job.failed\` / … |` names several types in one row.
    const rows = [...reference.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((match) => [...match[1]!.matchAll(/`([^`]+)`/g)].map((name) => name[1]!));
    for (const type of EVENT_TYPES) expect(rows, `docs/events.md has no row for ${type}`).toContain(type);
  });

  it("show every event type in the event reference", () => {
    const reference = lines.filter(({ name }) => name === "docs/events.md");
    const types = new Set(reference.map(({ line }) => (JSON.parse(line) as { type: string }).type));
    for (const type of ["job.declared", "original.added", "originals.sealed", "step.started", "step.progress", "step.completed", "step.failed", "indicator.reported", "indicator.added", "indicator.done", "job.completed"]) {
      expect(types, type).toContain(type);
    }
  });

  it("end the event reference's log with a completed job at 100", () => {
    const reference = lines.filter(({ name }) => name === "docs/events.md");
    const events = reference.flatMap(({ line }) => parseMessageBody(line).events);
    const snapshot = renderSnapshot(foldEvents("j1", events, Date.parse("2026-11-22T10:00:11Z")));
    expect(snapshot).toMatchObject({ status: "completed", progress_combined: 100 });
  });
});

describe("the README's tour", () => {
  /** The JSON bodies of the tour's curl commands, in order: `-d '…'`. */
  const bodies = blocks(readme, "sh")
    .flatMap((block) => [...block.matchAll(/-d '([^']*)'/g)].map((match) => match[1]!))
    .map((body) => JSON.parse(body) as unknown);

  it("creates a job the API accepts, then sends events it accepts", () => {
    expect(bodies.length).toBe(3);
    expect(CreateJobRequest.safeParse(bodies[0]).error).toBeUndefined();
    for (const body of bodies.slice(1)) expect(parseMessageBody(JSON.stringify(body)).rejections).toEqual([]);
  });

  it("shows the file at 20 % after the first events and a completed job at 100 after the last, as it says", () => {
    const created = CreateJobRequest.parse(bodies[0]);
    const { job_id: jobId, ...declaration } = created;
    const declared = { v: 1, type: "job.declared", job_id: jobId!, event_id: "create", at: "2026-12-06T09:59:59Z", ...declaration } as Event;
    const [progressed, finished] = bodies.slice(1).map((body) => parseMessageBody(JSON.stringify(body)).events);
    const midway = renderSnapshot(foldEvents(jobId!, [declared, ...progressed!], Date.parse("2026-12-06T10:00:05Z")));
    expect(readme).toContain("shows the file at 20 %");
    expect(midway).toMatchObject({ status: "executing", progress_combined: 20, progress_per_original_file: [{ original_id: "clip.mp4", progress: 20 }] });
    const end = renderSnapshot(foldEvents(jobId!, [declared, ...progressed!, ...finished!], Date.parse("2026-12-06T10:00:11Z")));
    expect(end).toMatchObject({ status: "completed", progress_combined: 100, eta_seconds: 0 });
  });
});
