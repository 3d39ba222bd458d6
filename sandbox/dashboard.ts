/**
 * The dashboard at `/dashboard/` on the sandbox's HTTP port (mount it at the root: its paths are whole): the page bundled on its first
 * request (web/build.ts) and kept in memory, and a `config.json` with the sandbox's URLs and its
 * development API key to prefill the key field. Only the sandbox hands a key to a page; a
 * deployed dashboard's config.json has none. The key goes only to requests whose `Host` is a
 * loopback name (`127.0.0.1`, `localhost`, `[::1]`): a page on another origin whose name an
 * attacker points at 127.0.0.1 (DNS rebinding) sends its own name as `Host`, and is refused.
 */
import { Hono } from "hono";
import type { Log } from "../functions/config.ts";
import { bundleDashboard, dashboardConfig, type DashboardBundle } from "../web/build.ts";

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether a `Host` header names this machine's loopback (with or without a port): the only names a DNS-rebinding page cannot send. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = /^(\[[^\]]*\]|[^:]*)(?::\d{1,5})?$/.exec(host.trim().toLowerCase())?.[1];
  return name !== undefined && (LOOPBACK_NAMES.has(name) || /^127(?:\.\d{1,3}){3}$/.test(name));
}

/** `httpUrl` null: the page calls the API on its own origin. */
export function createDashboardApp(options: { httpUrl: string | null; websocketUrl: () => string | null; apiKey: string; log: Log }): Hono {
  let bundling: Promise<DashboardBundle> | undefined;
  const bundle = () => {
    bundling ??= bundleDashboard().catch((error: unknown) => {
      bundling = undefined; // the next request tries again (say, after the page's source was fixed)
      throw error;
    });
    return bundling;
  };
  const app = new Hono();
  // The page's URLs are relative (`dashboard.js`, `config.json`): it must be served from `/dashboard/`.
  app.get("/dashboard", (c) => c.redirect("/dashboard/"));
  app.get("/dashboard/", async (c) => c.html((await bundle()).html));
  app.get("/dashboard/dashboard.js", async (c) => c.body((await bundle()).js, 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.get("/dashboard/config.json", (c) => {
    if (!isLoopbackHost(c.req.header("host"))) {
      options.log("warn", "dashboard config refused to a non-loopback Host", { host: c.req.header("host") ?? null });
      return c.json({ error: { code: "forbidden", message: "the sandbox hands its development key only to pages it serves on a loopback address: open http://127.0.0.1:<port>/dashboard/ or http://localhost:<port>/dashboard/" } }, 403);
    }
    return c.body(dashboardConfig(options.httpUrl, options.websocketUrl(), options.apiKey), 200, { "content-type": "application/json", "cache-control": "no-store" });
  });
  app.onError((error, c) => {
    options.log("error", "dashboard: could not bundle the page", { error: String(error) });
    return c.text(`The dashboard could not be bundled: ${String(error)}`, 500);
  });
  return app;
}
