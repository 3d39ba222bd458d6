/**
 * Subscriber tokens: scoped to a tenant and a list of job ids, with an expiry, naming the API key
 * that minted them (`key_id`, so that revoking the key revokes its tokens) and the signing secret that
 * signed them (`kid`, so that the secret can rotate: every secret still configured verifies, the
 * first one signs). Signed with HMAC-SHA256. Format: base64url(JSON payload) "." base64url(signature).
 * Deterministic (the caller passes the time and the secrets), so it lives in the core.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export interface TokenClaims {
  tenant: string;
  jobIds: string[];
  expiresAtMs: number;
  /** The id of the API key that minted the token (`key_…`). */
  keyId: string;
}

interface Payload {
  v: 2;
  t: string;
  j: string[];
  e: number;
  key_id: string;
  kid: string;
}

/** A signing secret and its id. */
export interface SigningKey {
  kid: string;
  secret: string;
}

/** The secrets that verify tokens; the first one signs new ones. */
export interface TokenKeys {
  signing: SigningKey;
  verifying: ReadonlyMap<string, string>;
}

/** A secret's id: a short hash of it, so that a configuration never has to name its secrets (8 base64url characters say nothing of a 256-bit secret). */
export function kidOf(secret: string): string {
  return createHash("sha256").update(`headway token kid\u0000${secret}`).digest("base64url").slice(0, 8);
}

/**
 * The token keys of a configured value: one secret, or several separated by whitespace, newest
 * first (`"<new> <old>"` while tokens signed with the old one may still be in use).
 */
export function tokenKeysOf(configured: string): TokenKeys {
  const secrets = configured.split(/\s+/).filter((secret) => secret !== "");
  if (secrets.length === 0) throw new Error("no token signing secret is configured");
  const keys = secrets.map((secret) => ({ kid: kidOf(secret), secret }));
  return { signing: keys[0]!, verifying: new Map(keys.map((key) => [key.kid, key.secret])) };
}

function sign(body: string, secret: string): Buffer {
  return createHmac("sha256", secret).update(body).digest();
}

export function mintToken(claims: TokenClaims, keys: TokenKeys): string {
  const payload: Payload = { v: 2, t: claims.tenant, j: claims.jobIds, e: Math.floor(claims.expiresAtMs / 1000), key_id: claims.keyId, kid: keys.signing.kid };
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${body}.${sign(body, keys.signing.secret).toString("base64url")}`;
}

/**
 * Why a token is refused: `outdated` for a token minted before tokens named their key (it cannot
 * be revoked, so it is not taken), `unknown_kid` for one signed by a secret no longer configured.
 */
export type TokenRefusal = "malformed" | "outdated" | "unknown_kid" | "bad_signature" | "expired";
export type TokenCheck = { ok: true; claims: TokenClaims; kid: string } | { ok: false; reason: TokenRefusal };

export function verifyToken(token: string, keys: TokenKeys, nowMs: number): TokenCheck {
  const [body, signature, ...rest] = token.split(".");
  if (body === undefined || signature === undefined || rest.length > 0 || body === "") return { ok: false, reason: "malformed" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (typeof parsed !== "object" || parsed === null) return { ok: false, reason: "malformed" };
  const payload = parsed as { [K in keyof Payload]?: unknown };
  if (payload.v === 1) return { ok: false, reason: "outdated" };
  // The secret is chosen by the kid before the signature is checked: the kid only picks which of our secrets to check with.
  const secret = typeof payload.kid === "string" ? keys.verifying.get(payload.kid) : undefined;
  if (secret === undefined) return { ok: false, reason: typeof payload.kid === "string" ? "unknown_kid" : "malformed" };
  const expected = sign(body, secret);
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "bad_signature" };
  if (payload.v !== 2 || typeof payload.t !== "string" || !Array.isArray(payload.j) || typeof payload.e !== "number" || typeof payload.key_id !== "string") return { ok: false, reason: "malformed" };
  if (payload.e * 1000 <= nowMs) return { ok: false, reason: "expired" };
  return { ok: true, claims: { tenant: payload.t, jobIds: payload.j as string[], expiresAtMs: payload.e * 1000, keyId: payload.key_id }, kid: payload.kid as string };
}

/** What a person reads when a token is refused: what happened and what to do. */
export function refusalMessage(reason: TokenRefusal | "key_revoked"): string {
  switch (reason) {
    case "malformed":
      return "token refused: not a subscriber token (mint one with POST /v1/tokens)";
    case "outdated":
      return "token refused: minted by an older release that did not name its API key; mint a new one with POST /v1/tokens";
    case "unknown_kid":
      return "token refused: signed by a secret that is no longer configured (rotated out); mint a new one with POST /v1/tokens";
    case "bad_signature":
      return "token refused: bad signature";
    case "expired":
      return "token refused: expired; mint a new one with POST /v1/tokens";
    case "key_revoked":
      return "token refused: the API key that minted it was revoked; mint a new one with a valid key";
  }
}
