/** The Lambda of every WebSocket route ($connect, $disconnect, subscribe, unsubscribe, ping, $default). */
import { environmentServices } from "../composition.ts";
import { lazyHandler } from "../config.ts";
import type { WebSocketEvent, WebSocketResult } from "../websocket-routes.ts";

export const handler = lazyHandler<WebSocketEvent, WebSocketResult>(async () => environmentServices().ws());
