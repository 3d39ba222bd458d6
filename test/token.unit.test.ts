/** Subscriber tokens: what they claim, and signing secrets that rotate with an overlap. */
import { describe, expect, it } from "vitest";
import { kidOf, mintToken, tokenKeysOf, verifyToken } from "../core/access/token.ts";

const NOW = Date.parse("2026-11-22T10:00:00Z");
const claims = { tenant: "acme", jobIds: ["j1"], expiresAtMs: NOW + 3_600_000, keyId: "key_0123456789ab" };

describe("subscriber tokens", () => {
  it("name the key that minted them and the secret that signed them", () => {
    const token = mintToken(claims, tokenKeysOf("secret-one"));
    expect(verifyToken(token, tokenKeysOf("secret-one"), NOW)).toEqual({ ok: true, claims, kid: kidOf("secret-one") });
  });

  it("verify with every configured secret while the newest signs, so a secret rotates with an overlap", () => {
    const old = mintToken(claims, tokenKeysOf("old-secret"));
    const rotating = tokenKeysOf("new-secret old-secret");
    expect(verifyToken(old, rotating, NOW)).toMatchObject({ ok: true, kid: kidOf("old-secret") });
    const fresh = mintToken(claims, rotating);
    expect(verifyToken(fresh, rotating, NOW)).toMatchObject({ ok: true, kid: kidOf("new-secret") });
    // Once the old secret is dropped, its tokens are refused and say why.
    expect(verifyToken(old, tokenKeysOf("new-secret"), NOW)).toEqual({ ok: false, reason: "unknown_kid" });
    expect(verifyToken(fresh, tokenKeysOf("new-secret"), NOW)).toMatchObject({ ok: true });
  });

  it("refuses forged, expired, malformed and pre-key tokens", () => {
    const keys = tokenKeysOf("secret-one");
    const token = mintToken(claims, keys);
    const [body, signature] = token.split(".") as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, "base64url").toString()), t: "other" })).toString("base64url");
    expect(verifyToken(`${forged}.${signature}`, keys, NOW)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyToken(token, keys, claims.expiresAtMs)).toEqual({ ok: false, reason: "expired" });
    for (const bad of ["", "abc", "a.b.c", "!!!.???", `${Buffer.from("[]").toString("base64url")}.x`]) expect(verifyToken(bad, keys, NOW)).toMatchObject({ ok: false, reason: "malformed" });
    const before = Buffer.from(JSON.stringify({ v: 1, t: "acme", j: ["j1"], e: NOW / 1000 + 60 })).toString("base64url");
    expect(verifyToken(`${before}.x`, keys, NOW)).toEqual({ ok: false, reason: "outdated" });
  });

  it("take one secret or several separated by whitespace, and refuse none", () => {
    expect([...tokenKeysOf(" a \n b\tc ").verifying.keys()]).toEqual([kidOf("a"), kidOf("b"), kidOf("c")]);
    expect(tokenKeysOf("a b").signing).toEqual({ kid: kidOf("a"), secret: "a" });
    expect(() => tokenKeysOf("  ")).toThrow(/no token signing secret/);
  });
});
