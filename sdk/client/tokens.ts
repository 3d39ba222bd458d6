/** The subscriber token a client connects with: a fixed one, or fresh ones from `getToken`. */

export interface TokenSource {
  /** The token to connect with now: refreshed first when it is missing, expiring, or suspected. */
  current(): Promise<string>;
  /** The server may have refused the last one (a browser cannot tell that from a network failure): get a fresh one next time. */
  suspect(): void;
}

export function tokenSource(options: { token?: string; getToken?: () => Promise<string>; refreshBeforeExpiryMs: number }): TokenSource {
  let token: string | null = options.token ?? null;
  let isSuspect = false;
  return {
    async current() {
      if (options.getToken !== undefined && (token === null || isSuspect || expiresWithin(token, options.refreshBeforeExpiryMs))) {
        token = await options.getToken();
        isSuspect = false;
      }
      return token!;
    },
    suspect() {
      isSuspect = true;
    },
  };
}

/**
 * Whether a Headway subscriber token expires within `marginMs`, read from its payload (the
 * server checks the signature; the client only needs the expiry). Other tokens: false.
 */
export function expiresWithin(token: string, marginMs: number, nowMs = Date.now()): boolean {
  try {
    const body = token.split(".")[0]!.replaceAll("-", "+").replaceAll("_", "/");
    const payload = JSON.parse(atob(body.padEnd(Math.ceil(body.length / 4) * 4, "="))) as { e?: unknown };
    return typeof payload.e === "number" && payload.e * 1000 - marginMs <= nowMs;
  } catch {
    return false;
  }
}

/** Jittered exponential backoff: `initialMs · 2^n`, capped, each drawn between half and all of it. */
export function backoff(initialMs: number, maxMs: number, random: () => number) {
  let attempt = 0;
  return {
    nextMs(): number {
      const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
      attempt++;
      return ceiling / 2 + (random() * ceiling) / 2;
    },
    reset(): void {
      attempt = 0;
    },
  };
}
