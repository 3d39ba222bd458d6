import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import type { Event } from "../core/contract/events.ts";
import { silentLog } from "../functions/config.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { createSubscriber, type JobSnapshot, type Subscriber, type SubscriberOptions, type Transport } from "../sdk/client/index.ts";
import { createUseJob, type JobView, type ReactHooks, type UseJobOptions } from "../sdk/client/react.ts";
import { eventFactory } from "./support/events.ts";

const TICK_MS = 300;
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20, tickMs: TICK_MS });
});
afterAll(async () => sandbox?.stop());

const api = (method: string, path: string, body?: unknown) =>
  fetch(`${sandbox.http}${path}`, { method, headers: { authorization: `Bearer ${sandbox.apiKey}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

const PLAN = { steps: { encoded: { robot: "/video/encode", use: ":original" } } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function createJob(jobId: string, originals: string[] = ["f1"], emitExecutionProgress = true): Promise<string> {
  const response = await api("POST", "/v1/jobs", { job_id: jobId, plan: PLAN, originals: originals.map((original_id) => ({ original_id, mime: "video/mp4" })), emit_execution_progress: emitExecutionProgress });
  expect(response.status).toBe(201);
  return ((await response.json()) as { subscriber_token: string }).subscriber_token;
}

async function send(jobId: string, events: Event[]) {
  expect((await api("POST", `/v1/jobs/${jobId}/events`, { v: 1, events })).status).toBe(202);
}

async function mintToken(jobIds: string[], expiresInSeconds = 3600): Promise<string> {
  return ((await (await api("POST", "/v1/tokens", { job_ids: jobIds, expires_in_seconds: expiresInSeconds })).json()) as { token: string }).token;
}

async function stored(jobId: string): Promise<JobSnapshot> {
  return (await (await api("GET", `/v1/jobs/${jobId}`)).json()) as JobSnapshot;
}

/** One job watched to its end: every snapshot handed on, and the final one. */
function watch(subscriber: Subscriber, jobId: string, options: { detail?: boolean } = {}) {
  const snapshots: JobSnapshot[] = [];
  const finished: JobSnapshot[] = [];
  let resolveFinal!: (snapshot: JobSnapshot) => void;
  const final = new Promise<JobSnapshot>((resolve) => (resolveFinal = resolve));
  subscriber.subscribe(jobId, (snapshot) => snapshots.push(snapshot), {
    ...options,
    onFinished: (snapshot) => {
      finished.push(snapshot);
      resolveFinal(snapshot);
    },
    onError: (error) => {
      throw error;
    },
  });
  const until = async <T>(what: () => T | undefined, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = what();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out; last snapshot: ${JSON.stringify(snapshots.at(-1))?.slice(0, 500)}`);
      await sleep(50);
    }
  };
  return { snapshots, finished, final: withTimeout(final, 45_000, `${jobId} never finished`), until };
}

/** A TCP door in front of the WebSocket gateway: shut at first (connections are cut), open on demand. */
async function websocketDoor(target: URL): Promise<{ url: string; open(): void; passed(): number; close(): Promise<void> }> {
  let isOpen = false;
  let passed = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    if (!isOpen) return void client.destroy();
    passed++;
    const upstream = connect(Number(target.port), target.hostname, () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
    sockets.add(upstream);
    upstream.once("close", () => sockets.delete(upstream));
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) a.once("error", () => b.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open: () => void (isOpen = true),
    passed: () => passed,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref())]);
}

const options = (token: string, extra: Partial<SubscriberOptions> = {}): SubscriberOptions => ({
  websocketUrl: sandbox.websocket,
  httpUrl: sandbox.http,
  token,
  reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
  ...extra,
});

function expectSettled(snapshots: JobSnapshot[]) {
  for (let i = 1; i < snapshots.length; i++) expect(snapshots[i]!.version).toBeGreaterThanOrEqual(snapshots[i - 1]!.version);
  const combined = snapshots.map((snapshot) => snapshot.progress_combined ?? 0);
  for (let i = 1; i < combined.length; i++) expect(combined[i]!).toBeGreaterThanOrEqual(combined[i - 1]!);
}

describe("subscriber client (sandbox, Node)", () => {
  it("follows a job driven by events and ends with its final snapshot and job_finished; a detail watch sees the in-flight command", async () => {
    const token = await createJob("client-1");
    const subscriber = createSubscriber(options(token));
    const watched = watch(subscriber, "client-1", { detail: true });
    const e = eventFactory("client-1");
    await watched.until(() => watched.snapshots[0]);
    for (const current of [10, 40, 70]) {
      await send("client-1", [e.progress("encoded", "f1", [current, 100], { unit: "Bytes", step_index: [0, 2], message: `copied ${current}` })]);
      await sleep(TICK_MS * 2);
    }
    const detailed = await watched.until(() => watched.snapshots.find((snapshot) => snapshot.detail?.in_flight?.[0]?.message === "copied 70"));
    expect(detailed.detail).toMatchObject({ in_flight: [{ step: "encoded", unit: "Bytes", step_index: [0, 2], progress: [70, 100] }], in_flight_total: 1 });
    await send("client-1", [e.completed("encoded", "f1"), e.jobCompleted()]);
    const final = await watched.final;
    expect(final).toMatchObject({ status: "completed", progress_combined: 100, version: (await stored("client-1")).version });
    expect(subscriber.transport).toBe<Transport>("websocket");
    expectSettled(watched.snapshots);
    expect(new Set(watched.snapshots.map((snapshot) => snapshot.version)).size).toBe(watched.snapshots.length);
    await sleep(TICK_MS * 3);
    expect(watched.finished).toHaveLength(1);
    subscriber.close();
  }, 60_000);

  it("ends with the final snapshot and job_finished when the gateway drops every connection mid-job and at the end", async () => {
    const token = await createJob("client-drop");
    const states: string[] = [];
    const subscriber = createSubscriber(options(token, { onStateChange: (state) => states.push(state) }));
    const watched = watch(subscriber, "client-drop");
    const e = eventFactory("client-drop");
    await watched.until(() => watched.snapshots[0]);
    await send("client-drop", [e.progress("encoded", "f1", [20, 100])]);
    await watched.until(() => watched.snapshots.find((snapshot) => snapshot.progress_combined === 20));
    expect(await sandbox.dropWebSocketConnections()).toBeGreaterThanOrEqual(1);
    // Changed while the client is away: the subscribe after the reconnect answers with it.
    await send("client-drop", [e.progress("encoded", "f1", [50, 100])]);
    await watched.until(() => watched.snapshots.find((snapshot) => snapshot.progress_combined === 50));
    // Finished while the client is away, after its last frame.
    await sandbox.dropWebSocketConnections();
    await send("client-drop", [e.completed("encoded", "f1"), e.jobCompleted()]);
    const final = await watched.final;
    expect(final).toMatchObject({ status: "completed", progress_combined: 100, version: (await stored("client-drop")).version });
    expect(states.filter((state) => state === "reconnecting").length).toBeGreaterThanOrEqual(2);
    expectSettled(watched.snapshots);
    subscriber.close();
  }, 60_000);

  it("merges the pages of a job with thousands of files into one whole list, and its final snapshot is whole", async () => {
    const ids = Array.from({ length: 3_000 }, (_, i) => `an-original-file-with-a-long-identifier-as-object-keys-often-have-${String(i).padStart(5, "0")}`);
    const token = await createJob("client-pages", ids);
    const subscriber = createSubscriber(options(token));
    const watched = watch(subscriber, "client-pages");
    const first = await watched.until(() => watched.snapshots.find((snapshot) => snapshot.progress_per_original_file.length === ids.length));
    expect(first.progress_per_original_file.map((file) => file.original_id)).toEqual([...ids].sort());
    const e = eventFactory("client-pages");
    // Files spread over every page move; the ticker pushes one page per tick.
    for (let round = 0; round < 3; round++) {
      await send("client-pages", ids.filter((_, i) => i % 300 === round).map((id) => e.progress("encoded", id, [50, 100])));
      await sleep(TICK_MS * 2);
    }
    await send("client-pages", ids.slice(0, 450).map((id) => e.completed("encoded", id)));
    await send("client-pages", [e.jobCompleted()]);
    const final = await watched.final;
    const whole = await stored("client-pages");
    expect(final.version).toBe(whole.version);
    expect(final.progress_per_original_file).toEqual(whole.progress_per_original_file);
    expect(final.progress_combined).toBe(whole.progress_combined);
    expect(final.progress_per_original_file).not.toEqual(first.progress_per_original_file);
    for (const snapshot of watched.snapshots) expect(snapshot.progress_per_original_file).toHaveLength(ids.length);
    subscriber.close();
  }, 90_000);

  it("gets a fresh token through the callback when the one it has expired, and when it is about to", async () => {
    await createJob("client-token");
    const expired = await mintToken(["client-token"], 1);
    await sleep(1_200);
    const handedOut: string[] = [];
    const subscriber = createSubscriber(
      options("", {
        token: undefined,
        // The first token handed out is already expired: the connection is refused and the client asks again.
        getToken: async () => {
          const token = handedOut.length === 0 ? expired : await mintToken(["client-token"]);
          handedOut.push(token);
          return token;
        },
        refreshBeforeExpiryMs: 0,
      }),
    );
    const watched = watch(subscriber, "client-token");
    const e = eventFactory("client-token");
    await send("client-token", [e.jobCompleted()]);
    await watched.final;
    expect(handedOut.length).toBeGreaterThanOrEqual(2);
    expect(handedOut[0]).toBe(expired);
    subscriber.close();

    // A token that expires within the margin is replaced before it is used.
    await createJob("client-token-2");
    const expiring = await mintToken(["client-token-2"], 30);
    let calls = 0;
    const early = createSubscriber(options(expiring, { refreshBeforeExpiryMs: 60_000, getToken: async () => (calls++, mintToken(["client-token-2"])) }));
    const watchedEarly = watch(early, "client-token-2");
    await send("client-token-2", [eventFactory("client-token-2").jobCompleted()]);
    await watchedEarly.final;
    expect(calls).toBe(1);
    early.close();
  }, 60_000);

  it("falls back to SSE when there is no WebSocket URL, and when WebSocket keeps failing", async () => {
    for (const [jobId, extra] of [
      ["client-sse", { websocketUrl: null }],
      ["client-sse-2", { websocketUrl: "ws://127.0.0.1:9/unreachable", sseAfterFailures: 2 }],
    ] as const) {
      const token = await createJob(jobId);
      const subscriber = createSubscriber(options(token, extra));
      const watched = watch(subscriber, jobId);
      const e = eventFactory(jobId);
      await send(jobId, [e.progress("encoded", "f1", [30, 100])]);
      await watched.until(() => watched.snapshots.find((snapshot) => snapshot.progress_combined === 30));
      expect(subscriber.transport).toBe<Transport>("sse");
      await send(jobId, [e.completed("encoded", "f1"), e.jobCompleted()]);
      const final = await watched.final;
      expect(final).toMatchObject({ status: "completed", progress_combined: 100, version: (await stored(jobId)).version });
      expectSettled(watched.snapshots);
      subscriber.close();
    }
  }, 90_000);

  it("shows a plan-less job's in-flight commands live to a detail watch, over WebSocket and over SSE", async () => {
    // A job of commands (Golem's): no plan and no counted work, so its combined figure stays null.
    for (const [jobId, extra, transport] of [
      ["client-commands", {}, "websocket"],
      ["client-commands-sse", { websocketUrl: null }, "sse"],
    ] as const) {
      const response = await api("POST", "/v1/jobs", { job_id: jobId });
      const token = ((await response.json()) as { subscriber_token: string }).subscriber_token;
      const subscriber = createSubscriber(options(token, extra));
      const watched = watch(subscriber, jobId, { detail: true });
      const e = eventFactory(jobId);
      const transfer = { input_id: "image.tar", unit: "Bytes", step_index: [0, 2] as [number, number] };
      await send(jobId, [e.started("transfer", undefined, 1, { input_id: "image.tar" }), e.progress("transfer", undefined, [256, 1024], { ...transfer, message: "downloading" })]);
      const seen = await watched.until(() => watched.snapshots.find((snapshot) => snapshot.detail?.in_flight?.[0]?.message === "downloading"));
      expect(seen.progress_combined).toBeNull();
      expect(seen.detail).toMatchObject({ in_flight_total: 1, in_flight: [{ step: "transfer", input_id: "image.tar", progress: [256, 1024], unit: "Bytes", step_index: [0, 2] }] });
      expect(Date.parse(seen.detail!.in_flight![0]!.at!)).toBeGreaterThan(0);
      await send(jobId, [e.progress("transfer", undefined, [0, 1024], { ...transfer, message: "Transfer retried" })]);
      const retried = await watched.until(() => watched.snapshots.find((snapshot) => snapshot.detail?.in_flight?.[0]?.message === "Transfer retried"));
      expect(retried.detail!.in_flight![0]!.progress).toEqual([0, 1024]);
      expect(subscriber.transport).toBe<Transport>(transport);
      await send(jobId, [e.completed("transfer", undefined, { input_id: "image.tar" }), e.jobCompleted()]);
      expect(await watched.final).toMatchObject({ status: "completed" });
      subscriber.close();
    }
  }, 90_000);

  it("shows a job created without emit_execution_progress live, over WebSocket and SSE, without the detail it did not ask for", async () => {
    for (const [jobId, extra, transport] of [
      ["client-quiet", {}, "websocket"],
      ["client-quiet-sse", { websocketUrl: null }, "sse"],
    ] as const) {
      const token = await createJob(jobId, ["f1"], false);
      const subscriber = createSubscriber(options(token, extra));
      const watched = watch(subscriber, jobId);
      await watched.until(() => watched.snapshots.find((snapshot) => snapshot.status === "executing" || snapshot.progress_combined === 0));
      const e = eventFactory(jobId);
      await send(jobId, [e.progress("encoded", "f1", [30, 100])]);
      await watched.until(() => watched.snapshots.find((snapshot) => snapshot.progress_combined === 30));
      await send(jobId, [e.progress("encoded", "f1", [60, 100])]);
      await watched.until(() => watched.snapshots.find((snapshot) => snapshot.progress_combined === 60));
      expect(watched.snapshots.every((snapshot) => snapshot.detail === undefined)).toBe(true);
      expect(subscriber.transport).toBe<Transport>(transport);
      await send(jobId, [e.completed("encoded", "f1"), e.jobCompleted()]);
      expect(await watched.final).toMatchObject({ status: "completed", progress_combined: 100 });
      subscriber.close();
    }
  }, 90_000);

  it("goes back to WebSocket once it works again after falling back to SSE", async () => {
    // A door in front of the gateway: shut, every WebSocket connection is cut at once; open, it passes.
    const door = await websocketDoor(new URL(sandbox.websocket!));
    const token = await createJob("client-back");
    const transports: (Transport | null)[] = [];
    const subscriber = createSubscriber(
      options(token, { websocketUrl: door.url, sseAfterFailures: 2, websocketRetryMs: 200, onStateChange: (_state, transport) => transports.push(transport) }),
    );
    const watched = watch(subscriber, "client-back");
    const e = eventFactory("client-back");
    await send("client-back", [e.progress("encoded", "f1", [20, 100])]);
    await watched.until(() => watched.snapshots.find((snapshot) => snapshot.progress_combined === 20));
    expect(subscriber.transport).toBe<Transport>("sse");

    door.open();
    await watched.until(() => (subscriber.transport === "websocket" && subscriber.state === "open" ? true : undefined), 15_000);
    await send("client-back", [e.progress("encoded", "f1", [70, 100])]);
    await watched.until(() => watched.snapshots.find((snapshot) => snapshot.progress_combined === 70));
    expect(door.passed()).toBeGreaterThan(0);
    await send("client-back", [e.completed("encoded", "f1"), e.jobCompleted()]);
    expect(await watched.final).toMatchObject({ status: "completed", progress_combined: 100 });
    expect(transports).toContain("sse");
    expect(transports.at(-1)).toBe("websocket");
    expectSettled(watched.snapshots);
    subscriber.close();
    await door.close();
  }, 90_000);

  it("gives a component the job's snapshot and status through useJob", async () => {
    const token = await createJob("client-hook");
    const subscriber = createSubscriber(options(token));
    const hook = renderHook(createUseJob(fakeReact.hooks), (): [string, UseJobOptions] => ["client-hook", { subscriber }]);
    expect(hook.current().status).toBe("connecting");
    const e = eventFactory("client-hook");
    await send("client-hook", [e.progress("encoded", "f1", [60, 100])]);
    await waitFor(() => hook.current().snapshot?.progress_combined === 60);
    expect(hook.current().status).toBe("live");
    await send("client-hook", [e.completed("encoded", "f1"), e.jobCompleted()]);
    await waitFor(() => hook.current().status === "finished");
    expect(hook.current()).toMatchObject({ snapshot: { status: "completed", progress_combined: 100 }, error: null });
    hook.unmount();
    subscriber.close();
  }, 60_000);
});

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(50);
  }
}

/**
 * Just enough of React to run a hook outside a page: state slots by call order, a state change
 * renders again in a microtask (as React batches), effects run after a render when their
 * dependencies changed, cleanups on re-run and unmount.
 */
const fakeReact = (() => {
  let slots: unknown[] = [];
  let effects: { deps: readonly unknown[] | undefined; cleanup: (() => void) | void }[] = [];
  let cursor = 0;
  let effectCursor = 0;
  let pending: (() => void)[] = [];
  let rerender: () => void = () => {};
  let isScheduled = false;
  const hooks: ReactHooks = {
    useState<S>(initial: S | (() => S)) {
      const index = cursor++;
      if (slots.length <= index) slots.push(typeof initial === "function" ? (initial as () => S)() : initial);
      const set = (next: S | ((previous: S) => S)) => {
        slots[index] = typeof next === "function" ? (next as (previous: S) => S)(slots[index] as S) : next;
        if (isScheduled) return;
        isScheduled = true;
        queueMicrotask(() => {
          isScheduled = false;
          rerender();
        });
      };
      return [slots[index] as S, set];
    },
    useEffect(effect, deps) {
      const index = effectCursor++;
      const previous = effects[index];
      if (previous !== undefined && deps !== undefined && previous.deps !== undefined && deps.length === previous.deps.length && deps.every((dep, i) => Object.is(dep, previous.deps![i]))) return;
      pending.push(() => {
        if (typeof previous?.cleanup === "function") previous.cleanup();
        effects[index] = { deps, cleanup: effect() };
      });
    },
  };
  return {
    hooks,
    mount<R>(render: () => R): { current: () => R; unmount: () => void } {
      slots = [];
      effects = [];
      let result!: R;
      rerender = () => {
        cursor = 0;
        effectCursor = 0;
        pending = [];
        result = render();
        const run = pending;
        pending = [];
        for (const effect of run) effect();
      };
      rerender();
      return {
        current: () => result,
        unmount: () => {
          for (const effect of effects) if (typeof effect.cleanup === "function") effect.cleanup();
          rerender = () => {};
        },
      };
    },
  };
})();

function renderHook<A extends unknown[]>(useHook: (...args: A) => JobView, args: () => A) {
  return fakeReact.mount(() => useHook(...args()));
}
