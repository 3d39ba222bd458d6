import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { SignatureV4 } from "@smithy/signature-v4";
import fc from "fast-check";
import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Sha256 } from "../functions/adapters/sha256.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
/** The SDK's own hash, the reference. */
const sdkSha256 = new ApiGatewayManagementApiClient({ region: "eu-west-1" }).config.sha256;

describe("Sha256 with key objects made once", () => {
  it("hashes and HMACs as node:crypto does, for text, bytes and views into larger buffers, the same key used again and again", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.uint8Array({ maxLength: 64 }), fc.nat(8), fc.string({ minLength: 1 }), async (text, bytes, offset, secret) => {
        const padded = new Uint8Array(offset + bytes.length + 3);
        padded.set(bytes, offset);
        const view = padded.subarray(offset, offset + bytes.length);
        const hash = new Sha256();
        hash.update(text);
        hash.update(view);
        expect(hex(await hash.digest())).toBe(createHash("sha256").update(text, "utf8").update(bytes).digest("hex"));
        // A plain hash may be read twice.
        expect(hex(await hash.digest())).toBe(createHash("sha256").update(text, "utf8").update(bytes).digest("hex"));
        for (const key of [secret, view, secret]) {
          const hmac = new Sha256(key);
          hmac.update(text);
          expect(hex(await hmac.digest())).toBe(createHmac("sha256", typeof key === "string" ? Buffer.from(key) : Buffer.from(bytes)).update(text, "utf8").digest("hex"));
        }
      }),
      { seed: 13, numRuns: 200 },
    );
  });

  it("starts over on reset", async () => {
    const hmac = new Sha256("key");
    hmac.update("first");
    await hmac.digest();
    hmac.reset();
    hmac.update("second");
    expect(hex(await hmac.digest())).toBe(createHmac("sha256", "key").update("second").digest("hex"));
  });

  it("gives SigV4 the signatures the SDK's own hash gives, day after day and across credentials", async () => {
    const request = (path: string) => ({ method: "POST", protocol: "https:", hostname: "abc.execute-api.eu-west-1.amazonaws.com", path, query: {}, headers: { host: "abc.execute-api.eu-west-1.amazonaws.com", "content-type": "application/octet-stream" }, body: '{"event":"x"}' });
    for (const credentials of [{ accessKeyId: "AKID1", secretAccessKey: "secret-one" }, { accessKeyId: "AKID2", secretAccessKey: "secret-two", sessionToken: "token" }]) {
      const ours = new SignatureV4({ service: "execute-api", region: "eu-west-1", credentials, sha256: Sha256 });
      const theirs = new SignatureV4({ service: "execute-api", region: "eu-west-1", credentials, sha256: sdkSha256 });
      for (const signingDate of [new Date("2026-11-30T10:00:00Z"), new Date("2026-12-01T00:00:01Z"), new Date("2026-11-30T23:59:59Z")]) {
        for (const path of ["/prod/@connections/a%3D", "/prod/@connections/b"]) {
          const [a, b] = await Promise.all([ours.sign(request(path), { signingDate }), theirs.sign(request(path), { signingDate })]);
          expect(a.headers.authorization).toBe(b.headers.authorization);
        }
      }
    }
  });
});
