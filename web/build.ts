/**
 * Bundles the dashboard (web/page/) for the browser with rolldown: one ES module with zod and the
 * subscriber client inside, so the page loads nothing from a CDN. The sandbox calls
 * `bundleDashboard()` on the first request for `/dashboard/` and serves the result from memory;
 * `node web/build.ts DIR` writes a static site (index.html, dashboard.js, config.json) for
 * infra/dashboard.ts, with the API's URLs from HEADWAY_API_URL and HEADWAY_WEBSOCKET_URL.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { rolldown } from "rolldown";

const pageDir = join(import.meta.dirname, "page");

export interface DashboardBundle {
  html: string;
  js: string;
}

export async function bundleDashboard(): Promise<DashboardBundle> {
  const bundle = await rolldown({
    input: join(pageDir, "dashboard.ts"),
    platform: "browser",
    // The client loads the `eventsource` package only where there is no EventSource: never in a browser.
    external: ["eventsource"],
    logLevel: "warn",
  });
  try {
    const { output } = await bundle.generate({ format: "esm", minify: true, codeSplitting: false });
    const chunk = output.find((item) => item.type === "chunk" && item.isEntry);
    if (chunk === undefined || chunk.type !== "chunk") throw new Error("rolldown produced no entry chunk for the dashboard");
    return { html: readFileSync(join(pageDir, "index.html"), "utf8"), js: chunk.code };
  } finally {
    await bundle.close();
  }
}

/** What the page reads from `config.json` (web/page/api.ts, `DashboardConfig`). */
export function dashboardConfig(httpUrl: string | null, websocketUrl: string | null, apiKey?: string): string {
  return JSON.stringify({ v: 1, http_url: httpUrl, websocket_url: websocketUrl, ...(apiKey === undefined ? {} : { api_key: apiKey }) });
}

export async function writeDashboard(outDir: string, config: { httpUrl: string | null; websocketUrl: string | null }): Promise<void> {
  const { html, js } = await bundleDashboard();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "index.html"), html);
  writeFileSync(join(outDir, "dashboard.js"), js);
  writeFileSync(join(outDir, "config.json"), dashboardConfig(config.httpUrl, config.websocketUrl));
}

if (import.meta.main) {
  const outDir = resolve(process.argv[2] ?? "web/dist");
  const orNull = (value: string | undefined) => (value === undefined || value === "" ? null : value);
  await writeDashboard(outDir, { httpUrl: orNull(process.env.HEADWAY_API_URL), websocketUrl: orNull(process.env.HEADWAY_WEBSOCKET_URL) });
  process.stdout.write(`dashboard written to ${outDir}\n`);
}
