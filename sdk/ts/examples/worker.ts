/**
 * A worker reporting a small video pipeline through the producer SDK. Against the sandbox:
 *
 *   npm start                      # in another terminal; prints the URL and an API key
 *   HEADWAY_URL=http://127.0.0.1:8787 HEADWAY_API_KEY=hw_dev_… npx node sdk/ts/examples/worker.ts
 *
 * It creates a job, "encodes" two videos with throttled byte-progress reporters, makes thumbnails,
 * counts stored files with a Tilebox-style indicator, completes the job, and prints the snapshot.
 */
import { createHeadway } from "../index.ts";

const url = process.env.HEADWAY_URL ?? "http://127.0.0.1:8787";
const apiKey = process.env.HEADWAY_API_KEY;
if (apiKey === undefined) {
  console.error("set HEADWAY_API_KEY to the key `npm start` prints");
  process.exit(2);
}

const headway = createHeadway({
  url,
  apiKey,
  onError: (error, failure) => console.error(`lost ${failure.events.length} event(s) of ${failure.jobId}: ${error.message}`),
});

const job = await headway.createJob({
  plan: {
    steps: {
      encoded: { robot: "/video/encode", use: ":original", accepts: ["video/*"] },
      thumbs: { robot: "/video/thumbs", use: ":original", accepts: ["video/*"], results_per_input: 3, output_mime: "image/jpeg" },
    },
  },
  expectOriginals: 2,
});
console.log(`job ${job.jobId}\n  status:     ${job.statusUrl}\n  subscriber: ${job.subscriberToken}`);

const files = [
  { id: "intro.mp4", bytes: 48_000_000 },
  { id: "talk.mp4", bytes: 120_000_000 },
];
for (const file of files) job.originalAdded(file.id, { mime: "video/mp4", source: "upload" });
job.sealed(files.length);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stored = job.progress("stored", { taskId: "store-all" });
stored.add(files.length * 4); // each file: one video and three thumbnails

await Promise.all(
  files.map(async (file) => {
    const encode = job.execution("encoded", { originalId: file.id });
    encode.started();
    // Reports every 20 ms; the reporter sends at most one every 500 ms, and always the last value.
    const reporter = encode.reporter({ updateIntervalMs: 500, unit: "Bytes" });
    for (let done = 0; done < file.bytes; done += file.bytes / 100) {
      reporter.report(Math.round(done), file.bytes, { message: "encoding" });
      await sleep(20);
    }
    encode.completed([{ resultId: `${file.id}.webm`, mime: "video/webm" }]);
    stored.done(1);

    const thumbs = job.execution("thumbs", { originalId: file.id });
    thumbs.started();
    thumbs.completed([1, 2, 3].map((n) => `${file.id}-thumb-${n}.jpg`));
    stored.done(3);
  }),
);

job.complete(); // a job ends only when its producer says so
await headway.close(); // sends what is still batched or held back; throws if anything was lost

await sleep(1500); // the sandbox's reducer applies batches within about a second
const snapshot = await job.snapshot();
console.log(`status ${snapshot.status}, progress ${snapshot.progress_combined} %, indicators ${JSON.stringify(snapshot.indicators)}`);
