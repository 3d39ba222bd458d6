import { describe, expect, it } from "vitest";
import type { WebhookSecret } from "../core/delivery/webhooks.ts";
import { formatSecret, rotateSecrets, validSecrets } from "../core/delivery/webhooks.ts";
import { MAX_SIGNING_SECRETS } from "../core/contract/webhooks.ts";

const HOUR = 3600_000;
const first: WebhookSecret = { secret: "whsec_first", createdAtMs: 0, expiresAtMs: null };

describe("webhook secret rotation", () => {
  it("makes the new secret current and keeps the previous one signing for the overlap", () => {
    const rotated = rotateSecrets([first], "whsec_second", 10 * HOUR, 24 * HOUR);
    expect(rotated).toEqual([
      { secret: "whsec_second", createdAtMs: 10 * HOUR, expiresAtMs: null },
      { secret: "whsec_first", createdAtMs: 0, expiresAtMs: 34 * HOUR },
    ]);
    expect(validSecrets(rotated, 34 * HOUR - 1).map((s) => s.secret)).toEqual(["whsec_second", "whsec_first"]);
    expect(validSecrets(rotated, 34 * HOUR).map((s) => s.secret)).toEqual(["whsec_second"]);
  });

  it("never extends an overlap already running, and drops the previous secret at once with no overlap", () => {
    const once = rotateSecrets([first], "whsec_2", HOUR, 24 * HOUR);
    const twice = rotateSecrets(once, "whsec_3", 2 * HOUR, 48 * HOUR);
    expect(twice.map((s) => [s.secret, s.expiresAtMs])).toEqual([
      ["whsec_3", null],
      ["whsec_2", 50 * HOUR],
      ["whsec_first", 25 * HOUR],
    ]);
    expect(rotateSecrets(twice, "whsec_4", 3 * HOUR, 0).map((s) => s.secret)).toEqual(["whsec_4"]);
  });

  it(`keeps at most ${MAX_SIGNING_SECRETS} secrets signing, the newest`, () => {
    let secrets = [first];
    for (let i = 1; i <= 8; i++) secrets = rotateSecrets(secrets, `whsec_${i}`, i, 24 * HOUR);
    expect(secrets.map((s) => s.secret)).toEqual(["whsec_8", "whsec_7", "whsec_6", "whsec_5", "whsec_4"]);
  });

  it("formats 24 random bytes as whsec_ and base64", () => {
    expect(formatSecret(new Uint8Array(24).fill(255))).toBe(`whsec_${"/".repeat(32)}`);
  });
});
