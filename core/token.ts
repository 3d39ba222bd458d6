/**
 * Subscriber tokens: scoped to a tenant and a list of job ids, with an expiry, signed with
 * HMAC-SHA256. Format: base64url(JSON payload) "." base64url(signature). Deterministic (the
 * caller passes the time), so it lives in the core.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface TokenClaims {
  tenant: string;
  jobIds: string[];
  expiresAtMs: number;
}

interface Payload {
  v: 1;
  t: string;
  j: string[];
  e: number;
}

function sign(body: string, secret: string): Buffer {
  return createHmac("sha256", secret).update(body).digest();
}

export function mintToken(claims: TokenClaims, secret: string): string {
  const payload: Payload = { v: 1, t: claims.tenant, j: claims.jobIds, e: Math.floor(claims.expiresAtMs / 1000) };
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${body}.${sign(body, secret).toString("base64url")}`;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

export function verifyToken(token: string, secret: string, nowMs: number): TokenCheck {
  const [body, signature, ...rest] = token.split(".");
  if (body === undefined || signature === undefined || rest.length > 0 || body === "") return { ok: false, reason: "malformed" };
  const expected = sign(body, secret);
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "bad_signature" };
  let payload: Payload;
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Payload;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (payload.v !== 1 || typeof payload.t !== "string" || !Array.isArray(payload.j) || typeof payload.e !== "number") return { ok: false, reason: "malformed" };
  if (payload.e * 1000 <= nowMs) return { ok: false, reason: "expired" };
  return { ok: true, claims: { tenant: payload.t, jobIds: payload.j, expiresAtMs: payload.e * 1000 } };
}
