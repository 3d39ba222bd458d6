import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { timeOf } from "../core/time.ts";

describe("event times", () => {
  it("reads every time Date.toISOString writes as Date.parse does", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("0000-01-01T00:00:00.000Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }), (date) => {
        const iso = date.toISOString();
        expect(timeOf(iso)).toBe(Date.parse(iso));
      }),
      { seed: 5, numRuns: 2000 },
    );
  });

  it("reads times of one minute read one after another (the cached minute) as Date.parse does", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("0100-01-01T00:00:00.000Z"), max: new Date("9999-12-31T23:58:00.000Z"), noInvalidDate: true }), fc.array(fc.nat(119_999), { maxLength: 20 }), (date, offsets) => {
        for (const offset of offsets) {
          const iso = new Date(date.getTime() + offset).toISOString();
          expect(timeOf(iso)).toBe(Date.parse(iso));
        }
      }),
      { seed: 6, numRuns: 500 },
    );
  });

  it("reads the contract's other forms through Date.parse", () => {
    for (const iso of ["2026-11-22T10:00:01Z", "2026-11-22T10:00:01.5Z", "2026-11-22T11:00:01.000+01:00", "2026-11-22T10:00:01.123456Z"]) {
      expect(timeOf(iso)).toBe(Date.parse(iso));
    }
  });
});
