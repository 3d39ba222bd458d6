/** How batched events leave the process: the HTTP API or an SQS queue. */
import type { Message } from "../../core/contract/events.ts";

export interface Transport {
  /** Delivers one job's envelopes (each ≤ 500 events, ≤ 256 KB); resolves once every one was accepted. */
  send(jobId: string, messages: Message[]): Promise<void>;
}
