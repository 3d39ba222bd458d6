import { describe, expect, it } from "vitest";
import { openApiDocument } from "../core/contract/openapi.ts";
import { parseMessageBody } from "../core/contract/ingest.ts";
import { CreateJobRequest } from "../core/contract/http.ts";
import { EVENT_TYPES } from "../core/contract/events.ts";
import { Snapshot } from "../core/contract/snapshot.ts";

describe("OpenAPI document", () => {
  const document = openApiDocument();
  const text = JSON.stringify(document);
  const schemas = document.components.schemas as Record<string, { examples?: unknown[] }>;

  it("names its schemas once under components, and every reference resolves", () => {
    const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const name of new Set(refs)) expect(schemas[name], name).toBeDefined();
    for (const name of ["Snapshot", "Event", "JobDeclared", "StepProgress", "IndicatorReported", "ErrorBody", "CreateJobRequest"]) expect(schemas[name], name).toBeDefined();
  });

  it("describes every event type of the contract's union as a component of its own, referenced from Event", () => {
    const named = (schemas.Event as { oneOf: { $ref?: string }[] }).oneOf.map(({ $ref }) => $ref?.replace("#/components/schemas/", ""));
    const typeOf = (name: string | undefined) => (name === undefined ? undefined : (schemas[name] as { properties?: { type?: { const?: string } } } | undefined)?.properties?.type?.const);
    const described = named.map(typeOf);
    for (const type of EVENT_TYPES) expect(described, `event type ${type}`).toContain(type);
    expect(described).toHaveLength(EVENT_TYPES.length);
  });

  it("gives examples that the contract itself accepts", () => {
    expect(CreateJobRequest.safeParse(schemas.CreateJobRequest!.examples![0]).success).toBe(true);
    expect(Snapshot.safeParse(schemas.Snapshot!.examples![0]).success).toBe(true);
    for (const name of ["Message", "IndicatorReported", "JobCompleted"]) {
      for (const example of schemas[name]!.examples!) expect(parseMessageBody(JSON.stringify(example)).rejections, name).toEqual([]);
    }
  });
});
