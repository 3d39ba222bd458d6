/**
 * The subscribers of one run: 2–4 clients per tenant, each with a real subscriber token of one of
 * its tenant's two keys, connecting, subscribing, unsubscribing, resubscribing and reconnecting
 * through the real WebSocket routes, and taking frames as a browser would (checked on arrival for
 * size, tenant and scope). A client waits for one request's answer before sending the next.
 */
import { mintToken, tokenKeysOf } from "../../../core/access/token.ts";
import { silentLog } from "../../../functions/config.ts";
import { createWsHandler, type WebSocketEvent, type WebSocketResult } from "../../../functions/websocket-routes.ts";
import { InjectedFault } from "../fakes/index.ts";
import type { SimContext } from "./context.ts";
import { checkTenant } from "./guarantees.ts";
import { DAY_MS, GATEWAY_FRAME_LIMIT, START_MS, TENANTS, TOKEN_SECRET, type Client, type JobEventFrame, type JobPlan, type Life } from "./model.ts";

/** Every client of the run, and which one holds each connection. */
export interface Audience {
  all: Client[];
  byConnection: Map<string, Client>;
}

export function createAudience(ctx: SimContext, jobs: readonly JobPlan[]): Audience {
  const audience: Audience = { all: [], byConnection: new Map() };
  for (const tenant of TENANTS) {
    const ids = jobs.filter((job) => job.tenant === tenant).map((job) => job.jobId);
    for (let c = 0, n = 2 + ctx.draw(3); c < n; c++) {
      const scope = ids.filter(() => ctx.random() < 0.7);
      if (scope.length === 0) scope.push(ids[ctx.draw(ids.length)]!);
      // Two keys per tenant: a revocation takes away some of its clients, not all. Tokens outlive every clock jump.
      const keyId = `key_${tenant}_${1 + ctx.draw(2)}`;
      const token = mintToken({ tenant, keyId, jobIds: scope, expiresAtMs: START_MS + 365 * DAY_MS }, tokenKeysOf(TOKEN_SECRET));
      audience.all.push(newClient(`${tenant}.client${c}`, tenant, scope, token, keyId));
    }
  }
  return audience;
}

/** A client with its token, before its first connection. */
function newClient(name: string, tenant: string, scope: string[], token: string, keyId: string): Client {
  return {
    name,
    tenant,
    keyId,
    revokedAtMs: null,
    scope,
    token,
    connectionId: null,
    connections: 0,
    intended: new Set(scope),
    confirmed: new Set(),
    acks: new Set(),
    dropped: new Set(),
    best: new Map(),
    finished: new Map(),
    last: new Map(),
    inFlight: null,
  };
}

/** A frame reaching a client: checked (size, tenant, scope) and taken as the client takes it. */
function receiveFrame(ctx: SimContext, client: Client, connectionId: string, body: string): void {
  ctx.count("frames");
  if (Buffer.byteLength(body) > GATEWAY_FRAME_LIMIT) ctx.violation(`a frame of ${Buffer.byteLength(body)} bytes to ${connectionId}`);
  if (client.connectionId !== connectionId) return;
  const frame = JSON.parse(body) as JobEventFrame;
  for (const event of frame.event === "batch" ? (frame.events ?? []) : [frame]) {
    const jobId = event.job_id ?? "";
    if (event.event === "subscribed" || event.event === "unsubscribed") client.acks.add(`${event.event} ${jobId}`);
    else if (event.event === "error" && event.code === "unknown_connection") {
      ctx.note(`${client.name} learns its connection is forgotten and closes it`);
      ctx.count("connections forgotten while open (the client learnt it from an error)");
      ctx.fakes.gateway.close(connectionId);
    } else if (event.event === "assembly_execution_progress" || event.event === "job_finished") {
      checkTenant(ctx, client.tenant, event.data, `frame to ${client.name}`);
      if (!client.scope.includes(jobId)) ctx.violation(`${client.name} got ${jobId}, outside its token's scope`);
      if (client.dropped.has(jobId)) continue;
      if (event.data !== undefined && "files_page" in event.data) ctx.count("paged frames");
      const version = event.data?.version ?? -1;
      client.best.set(jobId, Math.max(version, client.best.get(jobId) ?? -1));
      client.last.set(jobId, version);
      if (event.event === "job_finished") {
        if (!client.finished.has(jobId)) client.finished.set(jobId, new Set());
        client.finished.get(jobId)!.add(version);
      }
    }
  }
}

/** One invocation of the WebSocket routes; null when it failed by an injected fault (API Gateway answers `Internal server error`). */
async function route(ctx: SimContext, life: Life, event: WebSocketEvent): Promise<WebSocketResult | null> {
  const { mortal } = ctx.faults;
  const { connections, subscriptions, store, gateway, apiKeys } = ctx.fakes;
  const handler = createWsHandler({ connections: mortal(connections, life), subscriptions: mortal(subscriptions, life), store: mortal(store, life), poster: mortal(gateway.poster, life), apiKeys: mortal(apiKeys, life), tokenSecret: TOKEN_SECRET, now: ctx.now, log: silentLog });
  try {
    return await handler(event);
  } catch (error) {
    if (!(error instanceof InjectedFault)) ctx.violation(`route ${event.requestContext.routeKey} threw ${String(error)}`);
    return null; // API Gateway answers the client `Internal server error`; the client tries again later
  }
}

async function connect(ctx: SimContext, audience: Audience, client: Client, life: Life): Promise<void> {
  const { gateway } = ctx.fakes;
  const connectionId = `${client.name}.${++client.connections}`;
  ctx.note(`${client.name} connects as ${connectionId}`);
  const result = await route(ctx, life, { requestContext: { connectionId, routeKey: "$connect" }, queryStringParameters: { token: client.token } });
  if (result === null) return;
  if (client.revokedAtMs !== null) {
    if (result.statusCode === 200) ctx.violation(`${client.name}: connected with a token of its key, revoked at +${client.revokedAtMs - START_MS} ms`);
    else ctx.count("connects refused after revocation");
    if (result.statusCode === 200) gateway.close(connectionId);
    return;
  }
  if (result.statusCode !== 200) return ctx.violation(`${client.name}: its token was refused (${result.body})`);
  client.connectionId = connectionId;
  client.confirmed.clear();
  client.acks.clear();
  client.dropped.clear();
  client.best.clear();
  client.finished.clear();
  client.last.clear();
  audience.byConnection.set(connectionId, client);
  gateway.open(connectionId, {
    receive: (body) => receiveFrame(ctx, client, connectionId, body),
    closed: () => {
      if (client.connectionId !== connectionId) return;
      ctx.note(`${connectionId} is closed`);
      client.connectionId = null;
    },
  });
  for (const jobId of [...client.intended]) await subscribe(ctx, client, jobId, life);
}

async function subscribe(ctx: SimContext, client: Client, jobId: string, life: Life): Promise<void> {
  const connectionId = client.connectionId;
  if (connectionId === null) return;
  client.intended.add(jobId);
  client.dropped.delete(jobId);
  client.acks.delete(`subscribed ${jobId}`);
  ctx.note(`${client.name} subscribes to ${jobId}`);
  const revokedBefore = client.revokedAtMs !== null;
  const result = await route(ctx, life, { requestContext: { connectionId, routeKey: "$default" }, body: JSON.stringify({ action: "subscribe", job_id: jobId }) });
  if (revokedBefore && client.acks.has(`subscribed ${jobId}`)) ctx.violation(`${client.name}: subscribed to ${jobId} after its key was revoked`);
  if (result !== null && client.connectionId === connectionId && client.acks.has(`subscribed ${jobId}`)) client.confirmed.add(jobId);
}

async function unsubscribe(ctx: SimContext, client: Client, jobId: string, life: Life): Promise<void> {
  const connectionId = client.connectionId;
  if (connectionId === null) return;
  client.intended.delete(jobId);
  client.confirmed.delete(jobId);
  client.acks.delete(`unsubscribed ${jobId}`);
  ctx.note(`${client.name} unsubscribes from ${jobId}`);
  const result = await route(ctx, life, { requestContext: { connectionId, routeKey: "$default" }, body: JSON.stringify({ action: "unsubscribe", job_id: jobId }) });
  if (result !== null && client.connectionId === connectionId && client.acks.has(`unsubscribed ${jobId}`)) {
    client.dropped.add(jobId);
    client.best.delete(jobId);
    client.finished.delete(jobId);
    client.last.delete(jobId);
  }
}

/**
 * A client's move. Like a real client it waits for one request's answer before sending the
 * next: route invocations run concurrently, so an unsubscribe and a subscribe sent together
 * may be applied in either order whatever order their answers come in. An invocation that died
 * answers nothing; API Gateway's timeout then frees the client.
 */
export async function move(ctx: SimContext, audience: Audience, client: Client, life: Life): Promise<void> {
  if (client.inFlight !== null && !client.inFlight.isDead) return;
  client.inFlight = life;
  try {
    await moveNow(ctx, audience, client, life);
  } finally {
    client.inFlight = null;
  }
}

async function moveNow(ctx: SimContext, audience: Audience, client: Client, life: Life): Promise<void> {
  if (client.connectionId === null) return connect(ctx, audience, client, life);
  const draw100 = ctx.random();
  const jobId = client.scope[ctx.draw(client.scope.length)]!;
  if (draw100 < 0.1) {
    const connectionId = client.connectionId;
    ctx.note(`${client.name} disconnects ${connectionId}`);
    ctx.fakes.gateway.close(connectionId);
    await route(ctx, life, { requestContext: { connectionId, routeKey: "$disconnect" } });
  } else if (draw100 < 0.4 && client.intended.has(jobId)) await unsubscribe(ctx, client, jobId, life);
  else await subscribe(ctx, client, jobId, life);
}

/** Once faults stop: connected, and subscribed to every job it wants that still exists. */
export async function settleClient(ctx: SimContext, audience: Audience, client: Client): Promise<void> {
  if (client.revokedAtMs !== null) return;
  const life: Life = { isDead: false };
  if (client.connectionId === null) await connect(ctx, audience, client, life);
  for (const jobId of client.intended) if (!client.confirmed.has(jobId) && !isExpired(ctx, client.tenant, jobId)) await subscribe(ctx, client, jobId, life);
}

// A client whose key was revoked is settled once its connection is closed (it keeps trying to get back in: see connect).
// A job that expired whole after a clock jump cannot be subscribed to: nothing to wait for.
const isExpired = (ctx: SimContext, tenant: string, jobId: string) => ctx.fakes.store.raw({ tenant, jobId }) !== undefined && ctx.fakes.store.peek({ tenant, jobId }) === undefined;

export function isSettled(ctx: SimContext, client: Client): boolean {
  return client.revokedAtMs !== null
    ? client.connectionId === null
    : client.connectionId !== null && [...client.intended].every((jobId) => client.confirmed.has(jobId) || isExpired(ctx, client.tenant, jobId));
}
