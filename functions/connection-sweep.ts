/**
 * The sweep that makes revocation bite on open WebSockets (docs/tenants-and-keys.md): every connection whose
 * subscriber token expired, or whose token's API key was revoked, is told why (an `error` frame
 * with `token_expired` or `key_revoked`) and closed. The ticker's Lambda runs it every
 * SWEEP_EVERY_MS beside its ticks (the sandbox, beside its ticker), so a lapsed connection is
 * closed within a minute. Keys are read fresh (past any cache), once per key per sweep.
 */
import type { ApiKeyStore, Connections, Poster } from "../core/ports.ts";
import { refusalMessage } from "../core/access/token.ts";
import type { Log } from "./config.ts";
import { wireError } from "./errors.ts";

/** How often the sweep runs: a lapse is acted on within this, plus the time one sweep takes. */
export const SWEEP_EVERY_MS = 20_000;

export interface SweepReport {
  checked: number;
  closed: number;
}

export interface ConnectionSweep {
  sweep(): Promise<SweepReport>;
  /** Sweeps every `everyMs` until `durationMs` has passed or `signal` aborts (a failed sweep is logged; the next one runs). */
  run(options: { everyMs: number; durationMs: number; signal?: AbortSignal }): Promise<void>;
}

export function createConnectionSweep(deps: { connections: Connections; apiKeys: Pick<ApiKeyStore, "isActive">; poster: Poster; now: () => number; log: Log }): ConnectionSweep {
  async function sweep(): Promise<SweepReport> {
    const connections = await deps.connections.all();
    const keys = new Map<string, Promise<boolean>>();
    const isActive = (tenant: string, keyId: string) => {
      const id = `${tenant}\n${keyId}`;
      let active = keys.get(id);
      if (active === undefined) keys.set(id, (active = deps.apiKeys.isActive(tenant, keyId, { fresh: true })));
      return active;
    };
    let closed = 0;
    await Promise.all(
      connections.map(async (connection) => {
        const lapse = connection.tokenExpiresAtMs <= deps.now() ? "token_expired" : (await isActive(connection.tenant, connection.keyId)) ? null : "key_revoked";
        if (lapse === null) return;
        try {
          const message = refusalMessage(lapse === "token_expired" ? "expired" : lapse).replace("token refused: ", "connection closed: ");
          // Told first, so that the client knows to get a new token rather than reconnect with the old one.
          await deps.poster.post(connection.connectionId, { v: 1, event: "error", code: wireError(lapse).websocket, message }).catch(() => "gone");
          await deps.poster.disconnect(connection.connectionId);
          await deps.connections.remove(connection.connectionId);
          closed++;
          deps.log("info", "connection closed", { connection_id: connection.connectionId, tenant: connection.tenant, key_id: connection.keyId, reason: lapse });
        } catch (error) {
          deps.log("warn", "lapsed connection not closed (the next sweep tries again)", { connection_id: connection.connectionId, reason: lapse, error: String(error) });
        }
      }),
    );
    return { checked: connections.length, closed };
  }

  return {
    sweep,
    async run({ everyMs, durationMs, signal }) {
      const end = deps.now() + durationMs;
      while (signal?.aborted !== true) {
        await sweep().catch((error: unknown) => deps.log("error", "connection sweep failed", { error: String(error) }));
        if (deps.now() + everyMs >= end) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, everyMs);
          function done() {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve();
          }
          signal?.addEventListener("abort", done, { once: true });
        });
      }
    },
  };
}
