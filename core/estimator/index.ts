/**
 * The estimator's public face: what the shells (functions/, sandbox/, bin/) and the other wings use
 * of it. A job's state folds events (`reduce`, once per reducer batch, per replay line, per created
 * job) and renders snapshots; everything else in core/estimator/ is how. Only core/storage/, which
 * stores the state as it is, and the tests read the modules behind this one.
 */
export { foldEvents, reduce, type Reduction } from "./reduce.ts";
export { createJobState, type JobState } from "./state.ts";
export { partitioningFor } from "./partition.ts";
export { pageOfFiles, renderInFlight, renderSnapshot } from "./snapshot.ts";
export { createReplay, type Replay } from "./replay.ts";
