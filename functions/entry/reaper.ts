/** The reaper's Lambda: the table stream's subscriber, which removes what an expired job owned. */
import type { DynamoDBStreamEvent } from "aws-lambda";
import { environmentServices } from "../composition.ts";
import { lazyHandler } from "../config.ts";

export const handler = lazyHandler<DynamoDBStreamEvent, { jobs: number; items: number }>(async () => environmentServices().reaper());
