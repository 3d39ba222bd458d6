/**
 * What Transloadit's robots do to result counts, read from a step's own parameters (Transloadit's
 * robot docs; docs/events.md cites each rule). A plan's own `accepts`, `results_per_input`,
 * `output_mime` and `per` always override these. Reads parameters as they were sent: assembly
 * variables (`${fields.n}`) stay text, so a count given as one is not known. Pure; read once per
 * plan (core/estimator/plan.ts), never in the estimator's loops.
 */

/** /file/filter's own parameters, read as sent (core/instructions/filter.ts evaluates them). */
export interface FilterRule {
  accepts: unknown;
  declines: unknown;
  isAnd: boolean;
}

/** A step's parameters as sent (own keys only are read). */
export type StepParameters = Readonly<Record<string, unknown>>;

export interface RobotRule {
  /** Results per execution: a number, or unknown until the execution completes. */
  results: number | "unpredictable";
  /** /file/filter: results (0 or 1) from its conditions, per file. */
  filter: FilterRule | null;
  /** MIME patterns of the inputs the robot takes (it ignores others); null: any. */
  accepts: string[] | null;
  outputMime: string | null;
  /**
   * How a robot treats several inputs: "join" always makes one result of all of them (once per
   * job); "combine" does so when its `use` bundles steps; null: one execution per input.
   */
  joining: "join" | "combine" | null;
}

function param(step: StepParameters, key: string): unknown {
  return Object.hasOwn(step, key) ? step[key] : undefined;
}

/** Import robots: `/s3/import`, `/azure/import`, … (every `/…/import` in Transloadit's list, and any it adds). */
export function isImportRobot(robot: string): boolean {
  return /^\/[a-z0-9_-]+\/import$/.test(robot);
}

export const UPLOAD_ROBOT = "/upload/handle";

/** A robot that needs no input when its step has no `use`: it runs once per job (Transloadit's "Not all Steps require inputs"). */
export function isSourceRobot(robot: string, step: StepParameters): boolean {
  if (isImportRobot(robot) || robot === "/image/generate" || robot === "/video/generate") return true;
  const url = param(step, "url");
  return robot === "/html/convert" && typeof url === "string" && url !== "";
}

const ARCHIVES = [
  "application/zip",
  "application/x-zip-compressed",
  "application/x-tar",
  "application/gzip",
  "application/x-gzip",
  "application/x-7z-compressed",
  "application/x-rar-compressed",
  "application/vnd.rar",
  "application/x-bzip2",
  "application/x-xz",
];

/** Robots that take only some kinds of files ("By default, Robots ignore files they are not familiar with": the `force_accept` parameter). */
const ACCEPTS: Record<string, string[]> = {
  "/video/encode": ["video/*"],
  "/video/adaptive": ["video/*"],
  "/video/thumbs": ["video/*"],
  "/video/subtitle": ["video/*"],
  "/video/split": ["video/*"],
  "/audio/encode": ["audio/*", "video/*"],
  "/audio/waveform": ["audio/*", "video/*"],
  "/audio/split": ["audio/*", "video/*"],
  "/audio/loop": ["audio/*"],
  "/speech/transcribe": ["audio/*", "video/*"],
  "/image/resize": ["image/*"],
  "/image/optimize": ["image/*"],
  "/image/facedetect": ["image/*"],
  "/image/describe": ["image/*"],
  "/image/ocr": ["image/*"],
  "/image/bgremove": ["image/*"],
  "/image/upscale": ["image/*"],
  "/image/enhance": ["image/*"],
  "/document/thumbs": ["application/pdf"],
  "/document/split": ["application/pdf"],
  "/document/ocr": ["application/pdf"],
  "/document/optimize": ["application/pdf"],
  "/document/autorotate": ["application/pdf"],
  "/file/decompress": ARCHIVES,
};

const JOINS = new Set(["/video/concat", "/audio/concat", "/video/merge", "/audio/merge"]);
const COMBINES = new Set(["/file/compress", "/document/merge", "/image/merge"]);

const IMAGE_FORMATS: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  tiff: "image/tiff",
  tif: "image/tiff",
  heic: "image/heic",
  svg: "image/svg+xml",
  pdf: "application/pdf",
};

/** Presets of /video/encode and /audio/encode whose output type is plain from the name. */
const PRESET_MIMES: [RegExp, string][] = [
  [/^mp3$/, "audio/mpeg"],
  [/^(ogg|vorbis)$/, "audio/ogg"],
  [/^wav$/, "audio/wav"],
  [/^(aac|m4a)$/, "audio/mp4"],
  [/^flac$/, "audio/flac"],
  [/^webm/, "video/webm"],
  [/^(mp4|ipad|iphone|android)/, "video/mp4"],
];

function formatMime(step: StepParameters, fallback: string | null): string | null {
  const format = param(step, "format");
  if (typeof format !== "string") return fallback;
  return IMAGE_FORMATS[format.toLowerCase()] ?? fallback;
}

function presetMime(step: StepParameters): string | null {
  const preset = param(step, "preset");
  if (typeof preset !== "string") return null;
  for (const [pattern, mime] of PRESET_MIMES) if (pattern.test(preset.toLowerCase())) return mime;
  return null;
}

/** A count parameter: an integer ≥ 0 as sent; `undefined` when absent; "unknown" when it is text (an assembly variable) or anything else. */
function countOf(value: unknown): number | "unknown" | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === "string" && /^\d{1,9}$/.test(value.trim())) return Number(value.trim());
  return "unknown";
}

function isTruthy(value: unknown): boolean | "unknown" {
  if (value === undefined || value === null || value === false || value === "false" || value === 0 || value === "") return false;
  if (value === true || value === "true" || value === 1) return true;
  return "unknown";
}

/** Files an import brings: one per path (or URL), unknown for a directory (a path ending in `/`), `recursive`, or a collection. */
function importCount(robot: string, step: StepParameters): number | "unpredictable" {
  if (robot === "/http/import") {
    const url = param(step, "url");
    if (Array.isArray(url)) return url.length;
    if (typeof url !== "string") return 1;
    const delimiter = param(step, "url_delimiter");
    const separator = typeof delimiter === "string" && delimiter !== "" ? delimiter : "|";
    return url.split(separator).filter((piece) => piece.trim() !== "").length;
  }
  // Vimeo's `path` names a collection of videos (`me/videos`), never one file.
  if (robot === "/vimeo/import") return "unpredictable";
  if (isTruthy(param(step, "recursive")) !== false) return "unpredictable";
  const path = param(step, "path");
  const paths = path === undefined ? [] : Array.isArray(path) ? path : [path];
  if (paths.some((one) => typeof one !== "string" || one.endsWith("/"))) return "unpredictable";
  return Math.max(1, paths.length);
}

function videoThumbs(step: StepParameters): number | "unpredictable" {
  const offsets = param(step, "offsets");
  if (Array.isArray(offsets) && offsets.length > 0) return offsets.length; // offsets win over count
  if (offsets !== undefined && offsets !== null && !Array.isArray(offsets)) return "unpredictable";
  const count = countOf(param(step, "count"));
  return count === undefined ? 8 : count === "unknown" ? "unpredictable" : count;
}

function documentThumbs(step: StepParameters): number | "unpredictable" {
  const page = param(step, "page");
  if (page !== undefined && page !== null) return 1; // one page, whichever
  const format = param(step, "format");
  if (typeof format === "string" && format.toLowerCase() === "gif") return 1; // one animated gif of all pages
  return "unpredictable"; // one image per page
}

function faceDetect(step: StepParameters): number | "unpredictable" {
  const crop = isTruthy(param(step, "crop"));
  if (crop === false) return 1; // the input again, with the faces' coordinates in its metadata
  const faces = param(step, "faces");
  if (crop === true && (faces === "max-confidence" || faces === "max-size" || faces === "group" || typeof faces === "number")) return 1;
  return "unpredictable"; // "each" (the default): one image per face found
}

function segments(step: StepParameters): number | "unpredictable" {
  const list = param(step, "segments");
  return Array.isArray(list) ? list.length : "unpredictable";
}

function generated(step: StepParameters): number | "unpredictable" {
  const count = countOf(param(step, "num_outputs"));
  return count === undefined ? 1 : count === "unknown" ? "unpredictable" : count;
}

function filterRule(step: StepParameters): FilterRule {
  const conditionType = param(step, "condition_type");
  return { accepts: param(step, "accepts"), declines: param(step, "declines"), isAnd: typeof conditionType === "string" && conditionType.toLowerCase() === "and" };
}

function compressedMime(step: StepParameters): string {
  const format = param(step, "format");
  if (typeof format === "string" && format.toLowerCase() === "zip") return "application/zip";
  return isTruthy(param(step, "gzip")) === true ? "application/gzip" : "application/x-tar";
}

/** The rule of a robot, from the parameters of one step that uses it. */
export function robotRule(robot: string, step: StepParameters): RobotRule {
  const rule: RobotRule = { results: 1, filter: null, accepts: ACCEPTS[robot] ?? null, outputMime: null, joining: JOINS.has(robot) ? "join" : COMBINES.has(robot) ? "combine" : null };
  if (isImportRobot(robot)) rule.results = importCount(robot, step);
  switch (robot) {
    case "/video/thumbs":
      rule.results = videoThumbs(step);
      rule.outputMime = formatMime(step, "image/jpeg");
      break;
    case "/document/thumbs":
      rule.results = documentThumbs(step);
      rule.outputMime = formatMime(step, "image/png");
      break;
    case "/document/split":
    case "/file/decompress":
    case "/video/adaptive":
      rule.results = "unpredictable";
      break;
    case "/image/facedetect":
      rule.results = faceDetect(step);
      break;
    case "/video/split":
    case "/audio/split":
      rule.results = segments(step);
      break;
    case "/image/generate":
    case "/video/generate":
      rule.results = generated(step);
      break;
    case "/file/filter":
      rule.filter = filterRule(step);
      break;
    case "/file/compress":
      rule.outputMime = compressedMime(step);
      break;
    case "/image/resize":
    case "/image/optimize":
    case "/html/convert":
      rule.outputMime = formatMime(step, robot === "/html/convert" ? "image/png" : null);
      break;
    case "/document/convert":
      rule.outputMime = formatMime(step, null);
      break;
    case "/audio/waveform":
      rule.outputMime = "image/png";
      break;
    case "/video/encode":
    case "/audio/encode":
      rule.outputMime = presetMime(step);
      break;
  }
  return rule;
}

