/**
 * The HTTP API's Lambda, behind a Function URL. Response streaming (the SSE endpoint) needs the
 * handler wrapped by Lambda's `awslambda.streamifyResponse` at load time, which only exists inside
 * Lambda's Node runtime; elsewhere (tests) it is a buffered handler. The app is built on the first
 * request, so importing this module reads no environment.
 */
import { Hono } from "hono";
import { handle, streamHandle } from "hono/aws-lambda";
import { environmentServices } from "../composition.ts";
import { lazyHandler } from "../config.ts";

const api = lazyHandler(async () => {
  const app = environmentServices().api();
  return (request: Request) => Promise.resolve(app.fetch(request));
});
const lazyApp = new Hono().all("*", (c) => api(c.req.raw));
const isLambdaStreamingRuntime = typeof (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda?.streamifyResponse === "function";

export const handler = isLambdaStreamingRuntime ? streamHandle(lazyApp) : handle(lazyApp);
