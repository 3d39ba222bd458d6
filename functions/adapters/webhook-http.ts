/**
 * Sends one webhook over HTTP(S): no redirects followed, a 15 s limit, and, in the cloud, no
 * connection to a private, loopback or link-local address. The check runs inside the socket's
 * own DNS lookup on every address returned, so the address checked is the address connected to
 * and a DNS answer that changes between a check and the connection (rebinding) cannot slip by.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { isBlockedAddress, WEBHOOK_TIMEOUT_MS } from "../../core/delivery/webhooks.ts";

export type DeliveryResult = { kind: "response"; status: number; ms: number } | { kind: "error"; error: string; ms: number };

export interface WebhookTransport {
  send(url: string, headers: Record<string, string>, body: string): Promise<DeliveryResult>;
}

export function createHttpWebhookTransport(options: { allowPrivateAddresses: boolean; timeoutMs?: number }): WebhookTransport {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;

  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 0);
      const blocked = addresses.find((address) => isBlockedAddress(address.address));
      if (blocked !== undefined && !options.allowPrivateAddresses) {
        return callback(Object.assign(new Error(`refused: ${hostname} resolves to the non-public address ${blocked.address}`), { code: "EBLOCKED" }), "", 0);
      }
      const chosen = addresses[0];
      if (chosen === undefined) return callback(new Error(`no address for ${hostname}`), "", 0);
      if ((lookupOptions as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, chosen.address, chosen.family);
    });
  };

  return {
    send(url, headers, body) {
      const started = Date.now();
      const ms = () => Date.now() - started;
      return new Promise((resolve) => {
        let target: URL;
        try {
          target = new URL(url);
        } catch {
          return resolve({ kind: "error", error: "not a URL", ms: ms() });
        }
        const host = target.hostname.replace(/^\[|\]$/g, "");
        if (isIP(host) !== 0 && isBlockedAddress(host) && !options.allowPrivateAddresses) {
          return resolve({ kind: "error", error: `refused: ${host} is not a public address`, ms: ms() });
        }
        const send = target.protocol === "https:" ? httpsRequest : httpRequest;
        const request = send(
          target,
          { method: "POST", headers: { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), "user-agent": "Headway-Webhooks/1" }, lookup: guardedLookup, timeout: timeoutMs },
          (response) => {
            response.resume();
            response.on("end", () => resolve({ kind: "response", status: response.statusCode ?? 0, ms: ms() }));
            response.on("error", (error) => resolve({ kind: "error", error: error.message, ms: ms() }));
          },
        );
        const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        request.on("close", () => clearTimeout(deadline));
        request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        request.on("error", (error) => resolve({ kind: "error", error: error.message, ms: ms() }));
        request.end(body);
      });
    },
  };
}
