/**
 * The dashboard's views as DOM: each function takes data and returns elements, and owns no state
 * (dashboard.ts decides when to render what). Text goes in through `textContent` only: job ids,
 * messages and rejection excerpts come from producers, never as markup.
 */
import type { JobSnapshot } from "../../sdk/client/index.ts";
import type { JobList, RejectionList, WebhookDeliveryList } from "./api.ts";

type Child = Node | string | null | undefined | false;

export function h(tag: string, attributes: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** A progress bar: `data-bar` names it, `aria-valuenow` holds the figure (absent while there is no estimate). */
export function bar(name: string, percent: number | null, options: { isFailed?: boolean; caption?: string } = {}): HTMLElement {
  const hasValue = percent !== null;
  return h(
    "div",
    { class: `bar${options.isFailed ? " failed" : ""}${hasValue ? "" : " unknown"}`, role: "progressbar", "data-bar": name, "aria-label": name, "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": hasValue ? percent : undefined },
    h("div", { class: "fill", style: `width: ${hasValue ? percent : 100}%` }),
    h("span", { class: "figure" }, options.caption ?? (hasValue ? `${percent}%` : "estimating…")),
  );
}

export function formatEta(seconds: number | null): string {
  if (seconds === null) return "—";
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${String(whole % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

const time = (iso: string | null) => (iso === null ? "—" : new Date(iso).toLocaleTimeString());

export function jobRows(list: JobList, selectedJobId: string | null, onSelect: (jobId: string) => void): HTMLElement[] {
  if (list.jobs.length === 0) return [h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No jobs yet: create one with POST /v1/jobs."))];
  return list.jobs.map((job) => {
    const link = h("a", { href: `#job=${encodeURIComponent(job.job_id)}` }, job.job_id);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      onSelect(job.job_id);
    });
    return h(
      "tr",
      { "data-job": job.job_id, class: job.job_id === selectedJobId ? "selected" : undefined },
      h("td", {}, link),
      h("td", {}, h("span", { class: `status ${job.status}` }, job.status)),
      h("td", { class: "wide" }, bar(`job:${job.job_id}`, job.progress_combined)),
      h("td", {}, formatEta(job.eta_seconds)),
      h("td", {}, time(job.updated_at ?? job.created_at)),
    );
  });
}

export function jobView(snapshot: JobSnapshot, connection: string): HTMLElement {
  const inFlight = snapshot.detail?.in_flight ?? [];
  const inFlightTotal = Math.max(inFlight.length, snapshot.detail?.in_flight_total ?? 0);
  // A job of commands (no files, no counted work) has no overall figure: its commands say how it goes.
  const hasNoFigure = snapshot.progress_combined === null && snapshot.progress_per_original_file.length === 0 && snapshot.indicators.length === 0;
  return h(
    "div",
    { class: "job" },
    h("h2", {}, snapshot.job_id, " ", h("span", { class: `status ${snapshot.status}`, "data-status": snapshot.status }, snapshot.status)),
    h("p", { class: "meta" }, `version ${snapshot.version} · updated ${time(snapshot.updated_at)} · ${connection}`),
    h("div", { class: "combined" }, bar("combined", snapshot.progress_combined, hasNoFigure ? { caption: "no overall figure: see the commands in flight" } : {}), h("p", { class: "eta" }, "ETA ", h("strong", { "data-eta": "" }, formatEta(snapshot.eta_seconds)))),
    h("h3", {}, `Files (${snapshot.progress_per_original_file.length})`),
    snapshot.progress_per_original_file.length === 0
      ? h("p", { class: "empty" }, "No files yet.")
      : h(
          "div",
          { class: "bars" },
          ...snapshot.progress_per_original_file.flatMap((file) => [
            h("span", { class: "name" }, file.original_id),
            bar(`file:${file.original_id}`, file.progress, { isFailed: file.status === "failed", ...(file.error === undefined ? {} : { caption: `failed: ${file.error}` }) }),
          ]),
        ),
    h("h3", {}, `Labels (${snapshot.indicators.length})`),
    snapshot.indicators.length === 0
      ? h("p", { class: "empty" }, "No counted work.")
      : h(
          "div",
          { class: "bars" },
          ...snapshot.indicators.flatMap((indicator) => {
            const percent = indicator.total > 0 ? Math.floor((100 * indicator.done) / indicator.total) : null;
            return [h("span", { class: "name" }, indicator.label === "" ? "(unnamed)" : indicator.label), bar(`label:${indicator.label}`, percent, { caption: `${indicator.done} / ${indicator.total}` })];
          }),
        ),
    h("h3", {}, `In flight (${inFlightTotal})`),
    inFlight.length === 0
      ? h("p", { class: "empty" }, snapshot.detail === undefined ? "No detail received yet." : "Nothing running.")
      : table(
          ["step", "file or input", "attempt", "step index", "progress", "message", "reported"],
          inFlight.map((execution) => {
            const [current, total] = execution.progress ?? [null, null];
            const percent = current !== null && total !== null && total > 0 ? Math.min(100, Math.floor((100 * current) / total)) : null;
            const amount = current === null ? "—" : `${current} / ${total ?? "?"}${execution.unit === null ? "" : ` ${execution.unit}`}`;
            const on = execution.original_id ?? execution.input_id;
            return [
              execution.step,
              on,
              String(execution.attempt),
              execution.step_index === null ? "—" : `${execution.step_index[0] + 1} of ${execution.step_index[1]}`,
              bar(`command:${execution.step}:${on}`, percent, { caption: amount }),
              execution.message ?? "",
              time(execution.at),
            ];
          }),
          "in-flight",
        ),
    inFlightTotal > inFlight.length ? h("p", { class: "empty" }, `… and ${inFlightTotal - inFlight.length} more running (the ${inFlight.length} most recently reported are shown)`) : null,
  );
}

export function rejectionsView(list: RejectionList | null): HTMLElement {
  if (list === null) return h("p", { class: "empty" }, "Loading…");
  if (list.rejections.length === 0) return h("p", { class: "empty" }, "No rejected input.");
  return table(["at", "code", "reason", "excerpt"], list.rejections.map((r) => [time(r.at), r.code, r.reason, r.excerpt]), "rejections");
}

export function webhooksView(list: WebhookDeliveryList | null): HTMLElement {
  if (list === null) return h("p", { class: "empty" }, "Loading…");
  if (list.deliveries.length === 0) return h("p", { class: "empty" }, "No webhook deliveries (the job has no notify_url, or none is due yet).");
  return table(
    ["at", "attempt", "url", "outcome", "status", "ms", "error / next attempt"],
    list.deliveries.map((d) => [time(d.at), String(d.attempt), d.url, d.outcome, d.status === null ? "—" : String(d.status), String(Math.round(d.duration_ms)), d.error ?? (d.next_attempt_at === null ? "" : `retry at ${time(d.next_attempt_at)}`)]),
    "webhooks",
  );
}

function table(headings: string[], rows: (string | Node)[][], name: string): HTMLElement {
  return h("table", { "data-table": name }, h("thead", {}, h("tr", {}, ...headings.map((heading) => h("th", {}, heading)))), h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((cell) => h("td", {}, cell))))));
}
