/** Comparing a secret a caller sent with the one expected, in constant time whatever either is. */
import { createHash, timingSafeEqual } from "node:crypto";

/** Hashing both sides first makes the comparison constant-time whatever the lengths (timingSafeEqual needs equal lengths). */
export function isSameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
