/**
 * The sandbox's local AWS, each on a thread of its own, on loopback (127.0.0.1), each speaking the real wire
 * protocol so that the product talks to it through the real AWS SDK clients:
 * - DynamoDB: dynalite (LevelDB under `dataDir`, or in memory).
 * - SQS: fauxqs 2.x (SQLite at `<dataDir>/fauxqs.db`, written through on every mutation, or in
 *   memory). Its redrive policy moves a message to the DLQ on the receive after
 *   `maxReceiveCount` receives.
 * Port 0 picks a free port. Give each emulator its own `dataDir`.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import dynalite from "dynalite";
import { buildApp } from "fauxqs";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { isServerThread, serveOnThread, startServerThread, type ThreadServer } from "./server-thread.ts";

export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  close(): Promise<void>;
}

export interface EmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number | undefined;
  /** Persist here; omit to keep everything in memory. */
  dataDir?: string | undefined;
}

export const EMULATOR_REGION = "us-east-1";
/** The SDK wants credentials; emulators take any, but DynamoDB Local rejects an access key ID
 * with anything but letters and digits (UnrecognizedClientException). */
const DUMMY_CREDENTIALS = { accessKeyId: "headwaylocal", secretAccessKey: "headwaylocal" };

export function createSqsClient(endpoint: string): SQSClient {
  return new SQSClient({ region: EMULATOR_REGION, endpoint, credentials: DUMMY_CREDENTIALS });
}

export function createDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ region: EMULATOR_REGION, endpoint, credentials: DUMMY_CREDENTIALS });
}

/** dynalite, on a thread of its own: tables are ACTIVE at once (its default keeps them CREATING for 500 ms). */
export function startDynamoDbEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulatorThread("dynamodb", options);
}

/** fauxqs, on a thread of its own. */
export function startSqsEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulatorThread("sqs", options);
}

type EmulatorKind = "dynamodb" | "sqs";

async function startEmulatorThread(kind: EmulatorKind, options: EmulatorOptions): Promise<Emulator> {
  const thread = await startServerThread(import.meta.url, { kind, port: options.port, dataDir: options.dataDir });
  return { endpoint: `http://127.0.0.1:${thread.port}`, close: thread.close };
}

if (isServerThread(import.meta.url)) {
  await serveOnThread<EmulatorOptions & { kind: EmulatorKind }>(({ kind, ...options }) => (kind === "dynamodb" ? serveDynalite(options) : serveFauxqs(options)));
}

async function serveDynalite(options: EmulatorOptions): Promise<ThreadServer> {
  if (options.dataDir !== undefined) await assertLevelDbOpens(options.dataDir);
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.dataDir === undefined ? {} : { path: options.dataDir }) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    // dynalite's close() also closes LevelDB gracefully (waits for pending writes, frees the LOCK).
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

/**
 * dynalite opens LevelDB in the background and, if that fails (say the directory is locked by
 * another sandbox), throws "Database is not open" from inside its request handler: an uncaught
 * exception, and the request never answers. So open and close the directory first, with the
 * same `level` dynalite uses, to fail here with the reason.
 */
async function assertLevelDbOpens(dataDir: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const { Level } = createRequire(import.meta.resolve("dynalite"))("level") as {
    Level: new (path: string) => { open(): Promise<void>; close(): Promise<void> };
  };
  const db = new Level(dataDir);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    throw new Error(`dynalite cannot open ${dataDir}: ${cause ?? String(error)}`, { cause: error });
  }
  await db.close();
}

/** The parts of fauxqs's internals that `startFauxqs` wires together (fauxqs 2.x, dist/app.js). */
interface FauxqsStores {
  sqsStore: { persistence?: unknown; allQueues(): Iterable<{ persistence?: unknown }> };
  snsStore: { persistence?: unknown };
  s3Store: { persistence?: unknown };
}
interface FauxqsPersistence {
  load(sqsStore: unknown, snsStore: unknown, s3Store: unknown): void;
  close(): void;
}

/**
 * fauxqs, as its own `startFauxqs` builds it, but listening on 127.0.0.1: `startFauxqs` always
 * binds 0.0.0.0, which would put an unauthenticated queue on every network the machine is on.
 * The stores and the SQLite PersistenceManager are not in fauxqs's export map, so they are loaded
 * from next to its entry point; if a fauxqs release moves them, this fails loudly at start.
 */
async function serveFauxqs(options: EmulatorOptions): Promise<ThreadServer> {
  const dist = import.meta.resolve("fauxqs");
  const load = async (path: string, name: string): Promise<new (...args: never[]) => unknown> => {
    const module = (await import(new URL(path, dist).href)) as Record<string, unknown>;
    if (typeof module[name] !== "function") throw new Error(`fauxqs internals moved: ${path} has no ${name} (expected fauxqs 2.x)`);
    return module[name] as new (...args: never[]) => unknown;
  };
  const [SqsStore, SnsStore, S3Store, PersistenceManager] = await Promise.all([
    load("./sqs/sqsStore.js", "SqsStore"),
    load("./sns/snsStore.js", "SnsStore"),
    load("./s3/s3Store.js", "S3Store"),
    load("./persistence.js", "PersistenceManager"),
  ]);
  const stores = { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() } as FauxqsStores;
  let persistence: FauxqsPersistence | undefined;
  if (options.dataDir !== undefined) {
    persistence = new (PersistenceManager as unknown as new (dataDir: string) => FauxqsPersistence)(options.dataDir);
    // As startFauxqs does: load first, then write through (loading with persistence attached
    // would re-insert rows and cascade-delete their messages).
    persistence.load(stores.sqsStore, stores.snsStore, stores.s3Store);
    stores.sqsStore.persistence = stores.snsStore.persistence = stores.s3Store.persistence = persistence;
    for (const queue of stores.sqsStore.allQueues()) queue.persistence = persistence;
  }
  const app = buildApp({ logger: false, stores: stores as never });
  // After buildApp's own preClose hook, which ends pending long polls.
  if (persistence !== undefined) app.addHook("preClose", () => persistence.close());
  try {
    await app.listen({ port: options.port ?? 0, host: "127.0.0.1" });
  } catch (error) {
    await app.close();
    throw error;
  }
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

export interface QueueWithDlq {
  url: string;
  arn: string;
  dlqUrl: string;
  dlqArn: string;
}

/**
 * A standard queue `name` with `VisibilityTimeout` and a RedrivePolicy to `<name>-dlq` after
 * `maxReceiveCount` receives (SST's `dlq.retry`). Idempotent for the same settings. Queue URLs
 * carry the port they were created on; the SDK ignores their host when it has an `endpoint`.
 */
export async function createQueueWithDlq(
  sqs: SQSClient,
  name: string,
  options: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
): Promise<QueueWithDlq> {
  const arnOf = async (url: string): Promise<string> => {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
    if (Attributes?.QueueArn === undefined) throw new Error(`no QueueArn for ${url}`);
    return Attributes.QueueArn;
  };
  const create = async (queueName: string, attributes: Record<string, string>): Promise<string> => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }));
    if (QueueUrl === undefined) throw new Error(`CreateQueue ${queueName} returned no URL`);
    return QueueUrl;
  };
  const dlqUrl = await create(`${name}-dlq`, { MessageRetentionPeriod: "1209600" });
  const dlqArn = await arnOf(dlqUrl);
  const url = await create(name, {
    VisibilityTimeout: String(options.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount }),
  });
  return { url, arn: await arnOf(url), dlqUrl, dlqArn };
}
