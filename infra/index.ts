/** The infra files in dependency order; each exports what the others link to. */
import { table } from "./storage";
import "./secrets";
import { events, eventsDlq } from "./queues";
import { api } from "./api";

export const outputs = {
  api: api.url,
  table: table.name,
  eventsQueue: events.url,
  eventsDlq: eventsDlq.url,
};
