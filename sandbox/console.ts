/** What the sandbox says to the person who started it. */
import type { Log } from "../functions/config.ts";
import { TENANT, type Sandbox } from "./sandbox.ts";

export function describeSandbox(sandbox: Sandbox, dataDir: string | null): string {
  return `Headway sandbox is running ${dataDir === null ? "(in memory: nothing is kept)" : `(state in ${dataDir}/)`}

  HTTP API       ${sandbox.http}          (OpenAPI: ${sandbox.http}/v1/openapi.json)
  Dashboard      ${sandbox.dashboard}   (the API key is filled in for you)
  SQS            ${sandbox.sqsEndpoint}   queue ${sandbox.queueUrl}
  DynamoDB       ${sandbox.dynamodbEndpoint}   table ${sandbox.tableName}
  WebSocket      ${sandbox.websocket}   (connect with ?token=<subscriber_token from POST /v1/jobs>)
  API key        ${sandbox.apiKey}   (tenant ${TENANT})
  Webhook secret ${sandbox.webhookSecret}   (the tenant's; kept in the table${dataDir === null ? "" : ` under ${dataDir}/`}; GET /v1/webhook-secret shows it)
  Admin token    ${sandbox.adminToken}   (for /v1/admin; or run \`npx headway tenants|keys … --endpoint ${sandbox.dynamodbEndpoint}\`)

Try it:
  curl -s -X POST ${sandbox.http}/v1/jobs -H 'authorization: Bearer ${sandbox.apiKey}' \\
       -d '{"job_id":"demo","plan":{"steps":{"encoded":{"robot":"/video/encode","use":":original"}}},"originals":[{"original_id":"f1","mime":"video/mp4"}]}'
  curl -s -X POST ${sandbox.http}/v1/jobs/demo/events -H 'authorization: Bearer ${sandbox.apiKey}' \\
       -d '{"v":1,"type":"step.progress","job_id":"demo","event_id":"p1","at":"'$(date -u +%FT%TZ)'","step":"encoded","original_id":"f1","attempt":1,"progress":[40,100]}'
  curl -s ${sandbox.http}/v1/jobs/demo -H 'authorization: Bearer ${sandbox.apiKey}'
  # a job ends only when its producer says so:
  curl -s -X POST ${sandbox.http}/v1/jobs/demo/events -H 'authorization: Bearer ${sandbox.apiKey}' \\
       -d '{"v":1,"type":"job.completed","job_id":"demo","event_id":"c1","at":"'$(date -u +%FT%TZ)'"}'

Send to the queue with any SQS client: endpoint ${sandbox.sqsEndpoint}, region us-east-1, any credentials.

Ctrl-C stops it (the reducer finishes its batches first).
`;
}

/** Log lines go to stderr (stdout is for the ready line); routine request lines only with --verbose. */
export function sandboxLog(isVerbose: boolean): Log {
  return (level, message, fields = {}) => {
    if (!isVerbose && (level === "debug" || level === "info")) return;
    process.stderr.write(`${JSON.stringify({ level, msg: message, ...fields, time: new Date().toISOString() })}\n`);
  };
}
