/**
 * Built-in defaults for well-known robot names (DESIGN §3.2–§3.3). A plan's own `accepts`,
 * `results_per_input` and `output_mime` always override these.
 */
import type { PlanStep } from "./contract.ts";

export interface RobotDefaults {
  resultsPerInput?: number | "unpredictable";
  accepts?: string[];
  outputMime?: string;
}

const IMPORT_ROBOTS = new Set(["/s3/import", "/ftp/import", "/sftp/import"]);

export function robotDefaults(step: PlanStep): RobotDefaults {
  const { robot } = step;
  if (robot === "/file/decompress" || robot === "/document/split") return { resultsPerInput: "unpredictable" };
  if (robot === "/document/thumbs") {
    return step.page === undefined ? { resultsPerInput: "unpredictable", outputMime: "image/png" } : { outputMime: "image/png" };
  }
  if (IMPORT_ROBOTS.has(robot)) {
    const path = typeof step.path === "string" ? step.path : "";
    return path.endsWith("/") ? { resultsPerInput: "unpredictable" } : {};
  }
  if (robot === "/video/thumbs") {
    const count = typeof step.count === "number" && Number.isInteger(step.count) && step.count >= 0 ? step.count : 8;
    return { resultsPerInput: count, accepts: ["video/*"], outputMime: "image/jpeg" };
  }
  if (robot === "/video/encode" || robot === "/video/adaptive") return { accepts: ["video/*"] };
  if (robot === "/audio/encode") return { accepts: ["audio/*", "video/*"] };
  if (robot === "/audio/waveform") return { accepts: ["audio/*", "video/*"], outputMime: "image/png" };
  if (robot === "/image/resize" || robot === "/image/optimize") return { accepts: ["image/*"] };
  if (robot === "/document/convert") return { outputMime: "application/pdf" };
  if (robot === "/file/compress") return { outputMime: "application/zip" };
  return {};
}
