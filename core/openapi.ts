/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the contract's zod schemas
 * (`z.toJSONSchema`), never written by hand. A test checks that every route of the app is here.
 */
import { z } from "zod";
import {
  LIMITS,
  CreateJobRequest,
  CreateJobResponse,
  ErrorBody,
  IngestResponse,
  Message,
  RejectionList,
  TenantRejectionList,
  Snapshot,
  TokenRequest,
  TokenResponse,
  WebhookDeliveryList,
} from "./contract.ts";

type Schema = z.ZodType;

const schema = (type: Schema, io: "input" | "output") => z.toJSONSchema(type, { target: "draft-2020-12", io, unrepresentable: "any" });

function json(type: Schema, io: "input" | "output", description: string) {
  return { description, content: { "application/json": { schema: schema(type, io) } } };
}

const errors = {
  "400": json(ErrorBody, "output", "Invalid input: `error.fields` names each offending field"),
  "401": json(ErrorBody, "output", "Missing or unknown API key"),
  "404": json(ErrorBody, "output", "No such job for this tenant"),
};

const jobId = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" } };

export function openApiDocument() {
  return {
    openapi: "3.1.0",
    info: { title: "Headway", version: "1", description: "Progress service for multi-step jobs (see README.md)." },
    components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "An API key: Authorization: Bearer <key>" } } },
    security: [{ apiKey: [] }],
    paths: {
      "/v1/jobs": {
        post: {
          summary: "Create a job",
          requestBody: { required: true, ...json(CreateJobRequest, "input", "The job's declaration") },
          responses: { "201": json(CreateJobResponse, "output", "Created"), "409": json(ErrorBody, "output", "The job id is taken"), ...errors },
        },
      },
      "/v1/jobs/{id}": {
        get: {
          summary: "The job's current snapshot",
          parameters: [jobId, { name: "detail", in: "query", required: false, schema: { type: "string", enum: ["true", "false"] } }],
          responses: {
            "200": json(Snapshot, "output", "Snapshot"),
            "503": json(ErrorBody, "output", "`job_busy`: a write of the job is in progress (a snapshot never mixes two versions); retry after `Retry-After` seconds"),
            ...errors,
          },
        },
      },
      "/v1/jobs/{id}/events": {
        post: {
          summary: "Ingest events (validated, then enqueued)",
          description:
            "Counted work: `indicator.reported` carries a task attempt's running totals (`added`, `done`; the largest of each wins, " +
            "so it needs no memory of event ids). `indicator.added`/`indicator.done` carry deltas; each task attempt's first " +
            `${LIMITS.eventIdsPerTaskAttempt} event ids are remembered, and a further delta of that attempt is rejected as ` +
            "`too_many_indicator_events` (see /rejections): send `indicator.reported` instead. " +
            `A job has at most ${LIMITS.labelsPerJob} indicator labels (\`too_many_labels\`).`,
          parameters: [jobId],
          requestBody: { required: true, ...json(Message, "input", "One event, or {v: 1, events: [...]} with up to 500 events of this job") },
          responses: { "202": json(IngestResponse, "output", "Enqueued"), "413": json(ErrorBody, "output", "Body over 1 MiB"), ...errors },
        },
      },
      "/v1/jobs/{id}/stream": {
        get: {
          summary: "The job's update stream (text/event-stream): `assembly_execution_progress` events, then `job_finished` and `data: assembly_finished`",
          description: "Authenticates with an API key or a subscriber token (Authorization: Bearer, or ?token= for browsers' EventSource).",
          parameters: [jobId, { name: "token", in: "query", required: false, schema: { type: "string" } }],
          security: [{ apiKey: [] }, {}],
          responses: {
            "200": { description: "Server-sent events; each `data` is a snapshot", content: { "text/event-stream": { schema: { type: "string" }, itemSchema: schema(Snapshot, "output") } } },
            "429": json(ErrorBody, "output", "`too_many_streams`: the credential or the tenant has as many update streams open as allowed"),
            ...errors,
          },
        },
      },
      "/v1/jobs/{id}/rejections": {
        get: {
          summary: "Inputs of this job that were rejected, newest first",
          description:
            "Codes: `invalid_json`, `invalid_event`, `oversized`, `wrong_job`, `unknown_job`, `too_many_labels`, " +
            "`too_many_indicator_events` (an indicator.added/done past the per-attempt limit of remembered event ids: use indicator.reported).",
          parameters: [jobId],
          responses: { "200": json(RejectionList, "output", "Rejections"), ...errors },
        },
      },
      "/v1/rejections": {
        get: {
          summary: "The tenant's inputs that no job took, newest first",
          description: "Events for jobs that never appeared (`unknown_job`, after the wait for their declaration) and messages that named no readable job; each entry has its `job_id` (or null).",
          responses: { "200": json(TenantRejectionList, "output", "Rejections"), ...errors },
        },
      },
      "/v1/jobs/{id}/webhooks": {
        get: {
          summary: "The job's webhook delivery log, newest attempt first",
          parameters: [jobId],
          responses: { "200": json(WebhookDeliveryList, "output", "Deliveries"), ...errors },
        },
      },
      "/v1/tokens": {
        post: {
          summary: "Mint a subscriber token scoped to job ids",
          requestBody: { required: true, ...json(TokenRequest, "input", "Scope and lifetime") },
          responses: { "201": json(TokenResponse, "output", "Token"), ...errors },
        },
      },
      "/v1/openapi.json": {
        get: { summary: "This document", security: [], responses: { "200": { description: "OpenAPI 3.1" } } },
      },
    },
  };
}
