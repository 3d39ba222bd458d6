/** The infra files in dependency order; each exports what the others link to. */
import { table } from "./storage";
import "./reaper";
import "./secrets";
import { ws } from "./realtime";
import { events, eventsDlq } from "./queues";
import { api } from "./api";
import "./webhooks";
import "./ticker";
import { alarmTopic } from "./alarms";
import { dashboard } from "./dashboard";

export const outputs = {
  api: api.url,
  websocket: ws.url,
  table: table.name,
  eventsQueue: events.url,
  eventsDlq: eventsDlq.url,
  alarmTopic: alarmTopic.arn,
  dashboard: dashboard.url,
};
