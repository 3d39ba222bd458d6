/**
 * In-memory fakes of the ports of core/ports.ts, for the delivery simulation
 * (test/support/simulation/) and unit tests of the ticker and its channels. Each keeps what its
 * port documents, keyed as the port keys it (keys.ts), and asks a `Chaos` (chaos.ts) before every
 * call whether to fail: a failure is thrown before any effect, except where a fake models a
 * failure after one (a torn job write, a lost post). No fake ever reads the clock or a random
 * source of its own: both come in, so a seed replays exactly. store.ts holds the job store,
 * tables.ts the small tables beside it, messaging.ts the queues, API Gateway and webhook receivers.
 */
export { calm, InjectedFault, type Chaos } from "./chaos.ts";
export { ACTIVE_RETENTION_MS, FINISHED_RETENTION_MS, createFakeJobStore, type StorePlant } from "./store.ts";
export { createFakeApiKeys, createFakeChangeFeed, createFakeConnections, createFakeLease, createFakeRejectionLog, createFakeWebhookLog } from "./tables.ts";
export { createFakeGateway, createFakeReceivers, createFakeSqs, createFakeWebhookAccounts, createFakeWebhookQueue, type FakeSqs } from "./messaging.ts";
