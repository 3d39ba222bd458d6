/** The webhook sender's Lambda (the webhook queue's subscriber). */
import { environmentServices } from "../composition.ts";
import { lazyHandler } from "../config.ts";

export const handler = lazyHandler(async () => environmentServices().webhookSender());
