/**
 * The job store and its job index, in memory: conditional saves, torn writes, expiry by the job's
 * last write, as functions/adapters/dynamo/store.ts does. The fakes' largest cost is copying a
 * job's state, so a read copies it only when asked for it.
 */
import { StoreConflict } from "../../../core/errors.ts";
import type { JobIndex, JobListEntry, JobMeta, JobRead, JobRef, JobStore, LoadedJob } from "../../../core/ports.ts";
import type { JobState, OriginalState } from "../../../core/estimator/state.ts";
import { encodeParts } from "../../../core/storage/codec.ts";
import { partOf } from "../../../core/estimator/partition.ts";
import { type Chaos, InjectedFault, gate } from "./chaos.ts";
import { jobKey, metaOf } from "./keys.ts";

/**
 * A deep copy of plain data (objects, arrays, Maps, Sets), keeping shared references shared (a
 * state's dirty set holds its originals); a few times faster than structuredClone on a job's
 * state, which is most of the simulation's time. Anything else is refused rather than copied wrong.
 */
function copyOf<T>(value: T, copies = new Map<unknown, unknown>()): T {
  if (typeof value !== "object" || value === null) return value;
  const known = copies.get(value);
  if (known !== undefined) return known as T;
  if (value instanceof Map) {
    const map = new Map();
    copies.set(value, map);
    for (const [key, item] of value) map.set(copyOf(key, copies), copyOf(item, copies));
    return map as T;
  }
  if (value instanceof Set) {
    const set = new Set();
    copies.set(value, set);
    for (const item of value) set.add(copyOf(item, copies));
    return set as T;
  }
  if (Array.isArray(value)) {
    const array: unknown[] = [];
    copies.set(value, array);
    for (const item of value) array.push(copyOf(item, copies));
    return array as T;
  }
  const prototype = Object.getPrototypeOf(value) as object | null;
  if (prototype !== Object.prototype && prototype !== null) throw new Error(`copyOf: cannot copy a ${value.constructor.name}`);
  const object = Object.create(prototype) as Record<string, unknown>;
  copies.set(value, object);
  for (const key of Object.keys(value)) object[key] = copyOf((value as Record<string, unknown>)[key], copies);
  return object as T;
}

/** A stored state as a fresh load sees it: nothing dirty, every estimate recomputed at the next commit (as after a real load). */
function loaded(state: JobState): JobState {
  const copy = copyOf(state);
  copy.dirtyOriginals = new Set(copy.originals.values());
  copy.isJobBucketDirty = true;
  copy.isChanged = false;
  return copy;
}

/** Adds `state`, copied on first read: most reads of a head only want its meta, and copying is the fake's largest cost. */
function lazily<T extends object>(read: T, stored: JobState): T & { state: JobState } {
  let state: JobState | undefined;
  return Object.defineProperty(read, "state", { enumerable: true, get: () => (state ??= loaded(stored)), set: (value: JobState) => void (state = value) }) as T & { state: JobState };
}

interface StoredJob {
  meta: JobMeta;
  state: JobState;
  revision: number;
  /** A write stopped between its items and its head: whole-job reads answer "busy" until the next save. */
  isTorn: boolean;
  /** The head's expiry: the last write plus the retention (30 days, 7 once the job ended). */
  activeUntilMs: number;
  /** When each file's part was last written (what a part's own expiry would follow). */
  writtenAtMs: Map<string, number>;
  lastSavedAtMs: number;
}

const DAY_MS = 24 * 3600_000;
/** The store's retention (functions/adapters/dynamo/store.ts): a head expires this long after the job's last write. */
export const ACTIVE_RETENTION_MS = 30 * DAY_MS;
export const FINISHED_RETENTION_MS = 7 * DAY_MS;

/** Bugs the store can be built with, to show the simulation catches them. */
export type StorePlant = "parts-expire-by-own-write" | "refused-create-indexed";

/** A file's stored form, to tell which parts a save rewrote. */
function fingerprintOf(state: JobState, original: OriginalState): string {
  return JSON.stringify([...encodeParts(state, [partOf(original.id, state.partCount)], [original]).values()]);
}

/**
 * The job store, one entry per (tenant, job id). `save` is conditional on the revision loaded.
 * Its `store.save:crash` fault is a torn write: the new state is stored, whole-job reads see the
 * job busy until the next successful save, and the call throws. Jobs expire as the real store's
 * do: a job whose head was not written for the retention reads as absent (and its id is free).
 * Its job index lists a tenant's jobs as the real one does: an entry per create, listed when the
 * live job carries its incarnation, each job's head asked for once.
 */
export function createFakeJobStore(chaos: Chaos, options: { now: () => number; plant?: StorePlant } = { now: () => 0 }) {
  const jobs = new Map<string, StoredJob>();
  const index: (JobMeta & { seq: number })[] = [];
  const { now, plant } = options;
  const live = (ref: JobRef): StoredJob | undefined => {
    const job = jobs.get(jobKey(ref));
    return job === undefined || job.activeUntilMs < now() ? undefined : job;
  };
  /** The stored state as a reader gets it; with the planted bug, without the files whose own "parts" expired. */
  const readable = (job: StoredJob): JobState => {
    if (plant !== "parts-expire-by-own-write") return job.state;
    const state = loaded(job.state);
    for (const [id, writtenAtMs] of job.writtenAtMs) if (writtenAtMs + ACTIVE_RETENTION_MS < now()) state.originals.delete(id);
    return state;
  };
  const retentionOf = (state: JobState) => (state.terminal === null ? ACTIVE_RETENTION_MS : FINISHED_RETENTION_MS);
  const store: JobStore & {
    peek(ref: JobRef): StoredJob | undefined;
    /** The entry whether or not it expired (undefined: never created). */
    raw(ref: JobRef): StoredJob | undefined;
    read(ref: JobRef): { meta: JobMeta; state: JobState; isTorn: boolean } | undefined;
    conflicts: number;
    jobIndex: JobIndex;
  } = {
    peek: (ref) => live(ref),
    raw: (ref) => jobs.get(jobKey(ref)),
    read(ref) {
      const job = live(ref);
      return job === undefined ? undefined : { meta: job.meta, state: readable(job), isTorn: job.isTorn };
    },
    conflicts: 0,
    async createJob(meta, state) {
      await gate(chaos, "store.createJob");
      if (live(meta) !== undefined) {
        // The bug of old: the index entry written before the head, and left behind by a refusal.
        if (plant === "refused-create-indexed") index.push({ ...metaOf(meta), seq: index.length });
        return false;
      }
      index.push({ ...metaOf(meta), seq: index.length });
      const stored = loaded(state);
      jobs.set(jobKey(meta), { meta: metaOf(meta), state: stored, revision: 1, isTorn: false, activeUntilMs: now() + retentionOf(stored), writtenAtMs: new Map([...stored.originals.keys()].map((id) => [id, now()])), lastSavedAtMs: now() });
      return true;
    },
    async loadForBatch(ref) {
      await gate(chaos, "store.loadForBatch");
      const job = live(ref);
      return job === undefined ? null : lazily({ meta: metaOf(job.meta), handle: job.revision }, readable(job));
    },
    async save(job: LoadedJob) {
      await gate(chaos, "store.save");
      const stored = live(job.meta);
      if (stored === undefined || stored.meta.incarnation !== job.meta.incarnation || stored.revision !== job.handle) {
        this.conflicts++;
        throw new StoreConflict(jobKey(job.meta));
      }
      const isTorn = chaos.fails("store.save:crash");
      const state = loaded(job.state);
      // A part is written when its bytes changed: those files' "own" expiry moves.
      const writtenAtMs = new Map(stored.writtenAtMs);
      for (const original of state.originals.values()) {
        const before = stored.state.originals.get(original.id);
        if (before === undefined || fingerprintOf(stored.state, before) !== fingerprintOf(state, original)) writtenAtMs.set(original.id, now());
      }
      jobs.set(jobKey(job.meta), { meta: stored.meta, state, revision: stored.revision + 1, isTorn, activeUntilMs: now() + retentionOf(state), writtenAtMs, lastSavedAtMs: now() });
      if (isTorn) throw new InjectedFault("store.save:crash", "crashed between the parts and the head");
    },
    async loadJob(ref): Promise<JobRead> {
      await gate(chaos, "store.loadJob");
      const job = live(ref);
      if (job === undefined) return null;
      return job.isTorn ? "busy" : lazily({ meta: metaOf(job.meta) }, readable(job));
    },
    jobIndex: {
      async list(tenant, page) {
        await gate(chaos, "jobIndex.list");
        const entries = index.filter((entry) => entry.tenant === tenant).sort((a, b) => b.createdAtMs - a.createdAtMs || b.seq - a.seq);
        const start = page.cursor === null ? 0 : Number(page.cursor);
        const slice = entries.slice(start, start + page.limit);
        // BatchGetItem refuses a request naming one key twice: the fixed index asks for each head once.
        if (plant === "refused-create-indexed" && new Set(slice.map((entry) => entry.jobId)).size < slice.length) throw new Error("ValidationException: Provided list of item keys contains duplicates");
        const jobsListed: JobListEntry[] = [];
        for (const entry of slice) {
          const job = live(entry);
          if (job === undefined || job.meta.incarnation !== entry.incarnation) continue;
          jobsListed.push({ meta: metaOf(job.meta), head: readable(job) });
        }
        return { jobs: jobsListed, nextCursor: start + page.limit < entries.length ? String(start + page.limit) : null };
      },
    },
  };
  return store;
}
