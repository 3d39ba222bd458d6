import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../core/errors.ts";
import { WIRE_ERRORS, wireError } from "../functions/errors.ts";

describe("errors on the wire (functions/errors.ts)", () => {
  it("maps every code of core/errors.ts, and nothing else", () => {
    expect(Object.keys(WIRE_ERRORS).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) expect(wireError(code).status, code).toBeGreaterThanOrEqual(400);
  });

  it("keeps the codes users already see: a missing job is job_not_found over HTTP and not_found on the WebSocket", () => {
    expect(wireError("job_not_found")).toEqual({ status: 404, http: "job_not_found", websocket: "not_found" });
    expect(wireError("not_found")).toEqual({ status: 404, http: "not_found", websocket: "not_found" });
  });

  it("answers a second revocation 409 key_revoked, and a revoked key's token 401 key_revoked", () => {
    expect(wireError("key_already_revoked")).toMatchObject({ status: 409, http: "key_revoked" });
    expect(wireError("key_revoked")).toMatchObject({ status: 401, http: "key_revoked", websocket: "key_revoked" });
  });
});
