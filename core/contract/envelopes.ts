/**
 * Packing one job's events into SQS message bodies: envelopes of ≤ 500 events and ≤ 256 KB, so any
 * queue configuration takes them. Shared by the API's ingest, the SQS publisher and the producer
 * SDK (which may run in a browser, where there is no Buffer to count bytes).
 */
import { LIMITS } from "./fields.ts";
import { type Event, type Message } from "./events.ts";

/** The largest SQS message body any queue accepts by default. */
export const MAX_ENVELOPE_BYTES = 256 * 1024;
/** Room for `{"v":1,"events":[` and `]}` around the events. */
const ENVELOPE_OVERHEAD_BYTES = 64;

/**
 * The UTF-8 length of a string (what JSON text costs on the wire), without encoding it: Node's
 * Buffer.byteLength where there is one (about 10× faster; the API's ingest counts every event),
 * else counted from the UTF-16 units (a browser).
 */
export const utf8Bytes: (text: string) => number = typeof globalThis.Buffer === "function" ? (text) => globalThis.Buffer.byteLength(text) : countUtf8Bytes;

export function countUtf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: two UTF-16 units, four bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** The bytes one event adds to an envelope (its JSON and a comma). */
export function envelopeBytesOf(event: Event): number {
  return utf8Bytes(JSON.stringify(event)) + 1;
}

/** Whether an envelope of `count` events and `bytes` bytes has room for one more of `size` bytes. */
export function hasRoom(count: number, bytes: number, size: number): boolean {
  return count < LIMITS.eventsPerEnvelope && bytes + size <= MAX_ENVELOPE_BYTES - ENVELOPE_OVERHEAD_BYTES;
}

/** Packs events into as few envelopes as the limits allow, keeping their order; a new job starts a new envelope. */
export function envelopesOf(events: readonly Event[]): Message[] {
  const messages: Message[] = [];
  let current: Event[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = envelopeBytesOf(event);
    const isOtherJob = current.length > 0 && current[0]!.job_id !== event.job_id;
    if (current.length > 0 && (isOtherJob || !hasRoom(current.length, bytes, size))) {
      messages.push({ v: 1, events: current });
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) messages.push({ v: 1, events: current });
  return messages;
}
