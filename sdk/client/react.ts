/**
 * `useJob(jobId, options)`: a job's live snapshot in a React (or Preact) component, on the
 * subscriber client. Written against the two hooks it needs, passed in once, so that this package
 * needs no React of its own at run time or to type-check, and works with any React-like library:
 *
 *   import { useEffect, useState } from "react";
 *   export const useJob = createUseJob({ useEffect, useState });
 */
import { createSubscriber, type Subscriber, type SubscriberError, type SubscriberOptions } from "./index.ts";
import type { JobSnapshot } from "./merge.ts";

/** The part of React's (or Preact's) hooks API `useJob` uses. */
export interface ReactHooks {
  useState<S>(initial: S | (() => S)): [S, (next: S | ((previous: S) => S)) => void];
  useEffect(effect: () => void | (() => void), deps?: readonly unknown[]): void;
}

/**
 * `idle` without a job id, `connecting` until the first snapshot, `live` while it changes,
 * `finished` once the final snapshot is in (whole), `error` when the server refused the job.
 */
export type JobWatchStatus = "idle" | "connecting" | "live" | "finished" | "error";

export interface JobView {
  snapshot: JobSnapshot | null;
  status: JobWatchStatus;
  error: SubscriberError | null;
}

/** Either a shared subscriber (one connection for all of a page's jobs), or what to make one of for this job alone. */
export type UseJobOptions = ({ subscriber: Subscriber } | SubscriberOptions) & { detail?: boolean };

const IDLE: JobView = { snapshot: null, status: "idle", error: null };
const CONNECTING: JobView = { snapshot: null, status: "connecting", error: null };
const isJobId = (jobId: string | null | undefined): jobId is string => jobId !== null && jobId !== undefined && jobId !== "";

export function createUseJob(react: ReactHooks): (jobId: string | null | undefined, options: UseJobOptions) => JobView {
  return function useJob(jobId, options) {
    const [view, setView] = react.useState<JobView>(() => (isJobId(jobId) ? CONNECTING : IDLE));
    // The latest options, read when the effect runs, without making a new closure a reason to resubscribe.
    const [latest] = react.useState(() => ({ options }));
    latest.options = options;
    const shared = "subscriber" in options ? options.subscriber : null;
    const own = "subscriber" in options ? null : options;
    react.useEffect(() => {
      if (!isJobId(jobId)) {
        setView(IDLE);
        return;
      }
      setView(CONNECTING);
      const subscriber = shared ?? createSubscriber({ ...(latest.options as SubscriberOptions), getToken: own?.getToken === undefined ? undefined : () => (latest.options as SubscriberOptions).getToken!() });
      const stop = subscriber.subscribe(jobId, (snapshot) => setView((previous) => ({ snapshot, status: previous.status === "finished" ? "finished" : "live", error: null })), {
        detail: options.detail === true,
        onFinished: (snapshot) => setView({ snapshot, status: "finished", error: null }),
        onError: (error) => setView((previous) => ({ ...previous, status: "error", error })),
      });
      return () => {
        stop();
        if (shared === null) subscriber.close();
      };
    }, [jobId, shared, own?.websocketUrl, own?.httpUrl, own?.token, own?.transport, options.detail === true]);
    return view;
  };
}
