/** The reducer's Lambda (the events queue's subscriber): the handler the composition root builds on first use. */
import { environmentServices } from "../composition.ts";
import { lazyHandler } from "../config.ts";

export const handler = lazyHandler(async () => environmentServices().reducer());
