/**
 * Configuration from the environment, read in one place. The same variables point the handlers
 * at AWS (set by infra/) or at the sandbox's emulators (set by sandbox/).
 */
export interface Config {
  region: string;
  tableName: string;
  /** Read only by the functions that enqueue events. */
  eventsQueueUrl: () => string;
  dynamodbEndpoint: string | undefined;
  sqsEndpoint: string | undefined;
  defaultTenant: string;
  maxReceiveCount: number;
  pendingUnknownJobSeconds: number;
  publicUrl: string | undefined;
  websocketUrl: string | null;
  /** The subscriber-token signing key (an sst.Secret in the cloud); read only by the functions that sign or check tokens. */
  tokenSecret: () => string;
  /** API Gateway's @connections endpoint; read only by the functions that post to connections. */
  websocketManagementEndpoint: () => string;
  /** The webhook queue (signing secrets are per tenant, in the table). */
  webhookQueueUrl: () => string;
  /** The deployment's stage (the `stage` dimension of every metric). */
  stage?: string;
  /** The admin API's credential (the AdminToken secret in the cloud); null or absent: the admin API refuses every request. */
  adminToken?: () => string | null;
}

import { DEFAULT_TENANT, EVENTS } from "./settings.ts";

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`environment variable ${name} is not set`);
  return value;
}

function numberOr(name: string, fallback: number): number {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : Number(value);
}

export function environmentConfig(): Config {
  return {
    region: process.env.AWS_REGION ?? "us-east-1",
    tableName: required("HEADWAY_TABLE_NAME"),
    eventsQueueUrl: () => required("HEADWAY_EVENTS_QUEUE_URL"),
    dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
    sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS,
    defaultTenant: process.env.HEADWAY_DEFAULT_TENANT ?? DEFAULT_TENANT,
    maxReceiveCount: numberOr("HEADWAY_MAX_RECEIVE_COUNT", EVENTS.maxReceiveCount),
    pendingUnknownJobSeconds: numberOr("HEADWAY_PENDING_UNKNOWN_JOB_SECONDS", EVENTS.pendingUnknownJobSeconds),
    publicUrl: process.env.HEADWAY_PUBLIC_URL,
    websocketUrl: process.env.HEADWAY_WEBSOCKET_URL ?? null,
    tokenSecret: () => required("HEADWAY_TOKEN_SECRET"),
    websocketManagementEndpoint: () => required("HEADWAY_WS_MANAGEMENT_ENDPOINT"),
    webhookQueueUrl: () => required("HEADWAY_WEBHOOK_QUEUE_URL"),
    stage: process.env.HEADWAY_STAGE,
    adminToken: () => process.env.HEADWAY_ADMIN_TOKEN || null,
  };
}

export type LogLevel = "debug" | "info" | "warn" | "error";
export type Log = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** One JSON object per line: what CloudWatch Logs Insights (and `jq`) read best. */
export const jsonLog: Log = (level, message, fields = {}) => {
  const line = JSON.stringify({ level, msg: message, ...fields, time: new Date().toISOString() });
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
};

export const silentLog: Log = () => {};

/**
 * A log whose every line carries `fields` too (an invocation's or a tick's id, a tenant): the
 * shell threads it through the calls of one unit of work instead of an ambient context.
 */
export function withFields(log: Log, fields: Record<string, unknown>): Log {
  return (level, message, more) => log(level, message, { ...fields, ...more });
}

/**
 * A Lambda entry point that builds its handler (clients, adapters) on the first invocation and
 * reuses it after: importing the module reads no environment, and warm invocations build nothing.
 */
export function lazyHandler<E, R>(build: () => Promise<(event: E, context?: InvocationContext) => Promise<R>>): (event: E, context?: InvocationContext) => Promise<R> {
  let instance: Promise<(event: E, context?: InvocationContext) => Promise<R>> | undefined;
  return async (event, context) => (await (instance ??= build()))(event, context);
}

/** What a handler reads of Lambda's context: its request id, which log lines carry as `invocation_id`. */
export interface InvocationContext {
  awsRequestId: string;
}
