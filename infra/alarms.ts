/**
 * What an operator is told about (docs/operating.md): CloudWatch alarms on the DLQs (SQS's own metric)
 * and on the embedded metrics the functions write (functions/adapters/emf-metrics.ts), notifying
 * one SNS topic. Set HEADWAY_ALARM_EMAIL when deploying to have it mailed (AWS sends a
 * confirmation first); otherwise subscribe to the `alarmTopic` output yourself.
 */
import { ALARMS, METRICS, TICKER, type MetricName } from "../functions/settings";
import { events, eventsDlq } from "./queues";
import { tickerDlq } from "./ticker";
import { webhooksDlq } from "./webhooks";

export const alarmTopic = new sst.aws.SnsTopic("Alarms");

const email = process.env.HEADWAY_ALARM_EMAIL;
if (email !== undefined && email !== "") {
  new aws.sns.TopicSubscription("AlarmsEmail", { topic: alarmTopic.arn, protocol: "email", endpoint: email });
}

const notify = { alarmActions: [alarmTopic.arn], okActions: [alarmTopic.arn] };
/** The functions' metrics carry these dimensions; a stage alarms on its own metrics only. */
const dimensions = { service: METRICS.service, stage: $app.stage };
const headway = (metricName: MetricName) => ({ namespace: METRICS.namespace, metricName, dimensions });

/** Any message in a DLQ needs a person: events the reducer could not store, deliveries the sender failed on, ticker starts that failed. */
const dlqs = { EventsDlqDepth: eventsDlq, WebhooksDlqDepth: webhooksDlq, TickerDlqDepth: tickerDlq };
for (const [name, dlq] of Object.entries(dlqs)) {
  new aws.cloudwatch.MetricAlarm(name, {
    alarmDescription: `Messages are waiting in ${name.replace(/Depth$/, "")}: see docs/operating.md`,
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: dlq.nodes.queue.name },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 1,
    comparisonOperator: "GreaterThanThreshold",
    threshold: 0,
    // SQS stops reporting an idle queue's metrics after 6 hours.
    treatMissingData: "notBreaching",
    ...notify,
  });
}

new aws.cloudwatch.MetricAlarm("IngestLag", {
  alarmDescription: `The oldest new message of reducer batches is older than ${ALARMS.ingestLagMs / 1000} s for ${ALARMS.ingestLagMinutes} minutes`,
  ...headway("IngestLag"),
  statistic: "Maximum",
  period: 60,
  evaluationPeriods: ALARMS.ingestLagMinutes,
  datapointsToAlarm: ALARMS.ingestLagMinutes,
  comparisonOperator: "GreaterThanThreshold",
  threshold: ALARMS.ingestLagMs,
  treatMissingData: "notBreaching",
  ...notify,
});

// A reducer that stopped consuming writes no IngestLag at all: the queue's own age tells.
new aws.cloudwatch.MetricAlarm("EventsQueueAge", {
  alarmDescription: `The events queue holds a message older than ${ALARMS.queueAgeSeconds} s: is the reducer consuming?`,
  namespace: "AWS/SQS",
  metricName: "ApproximateAgeOfOldestMessage",
  dimensions: { QueueName: events.nodes.queue.name },
  statistic: "Maximum",
  period: 60,
  evaluationPeriods: 5,
  datapointsToAlarm: 5,
  comparisonOperator: "GreaterThanThreshold",
  threshold: ALARMS.queueAgeSeconds,
  treatMissingData: "notBreaching",
  ...notify,
});

new aws.cloudwatch.MetricAlarm("TickOverrun", {
  alarmDescription: `Ticks take longer than their ${TICKER.intervalMs} ms interval in ${ALARMS.tickOverrunMinutes} of 5 minutes (fan-out is falling behind)`,
  ...headway("TickDuration"),
  statistic: "Maximum",
  period: 60,
  evaluationPeriods: 5,
  datapointsToAlarm: ALARMS.tickOverrunMinutes,
  comparisonOperator: "GreaterThanThreshold",
  threshold: ALARMS.tickOverrunMs,
  treatMissingData: "notBreaching",
  ...notify,
});

new aws.cloudwatch.MetricAlarm("WebhookGiveUps", {
  alarmDescription: "A webhook delivery was given up after its last retry (GET /v1/jobs/{id}/webhooks shows why)",
  ...headway("WebhookGiveUps"),
  statistic: "Sum",
  period: 300,
  evaluationPeriods: 1,
  comparisonOperator: "GreaterThanThreshold",
  threshold: 0,
  treatMissingData: "notBreaching",
  ...notify,
});
