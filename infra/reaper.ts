/**
 * The reaper: only a job's head expires (by TTL, 30 days after the job's last activity, 7 after it
 * ended); this subscription to the table's stream removes the rest of the job when it does. The
 * filter lets through TTL's own deletions of heads and nothing else, so the function runs once per
 * expired job.
 */
import { table } from "./storage";

export const reaper = table.subscribe(
  "Reaper",
  {
    handler: "functions/entry/reaper.handler",
    timeout: "60 seconds",
    memory: "512 MB",
    link: [table],
    environment: { HEADWAY_TABLE_NAME: table.name },
  },
  {
    filters: [
      {
        eventName: ["REMOVE"],
        userIdentity: { type: ["Service"], principalId: ["dynamodb.amazonaws.com"] },
        dynamodb: { Keys: { sk: { S: ["HEAD"] } } },
      },
    ],
    transform: {
      // A batch that keeps failing (the table refusing for a long while) is halved and, after 10
      // tries, dropped rather than holding up its shard for 24 h: its jobs' items stay, unread.
      eventSourceMapping: (args) => {
        args.bisectBatchOnFunctionError = true;
        args.maximumRetryAttempts = 10;
      },
    },
  },
);
