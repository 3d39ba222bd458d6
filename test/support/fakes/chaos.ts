/**
 * How the fakes are told what goes wrong: a `Chaos` asked before every call, and the failure it
 * injects (`InjectedFault`, expected, never a bug). Tests that want no faults pass `calm`.
 */
/** Decides, call by call, what goes wrong. */
export interface Chaos {
  /** Whether this call (named `port.method`, about `subject` when it names one: a connection, a URL) fails. */
  fails(site: string, subject?: string): boolean;
  /** A draw in [0, 1) from the run's one random sequence. */
  random(): number;
  /** Lets other work run first (a few microtasks), so that concurrent calls interleave by the seed. */
  pause(): Promise<void>;
}

export const calm: Chaos = { fails: () => false, random: () => 0.5, pause: async () => {} };

/** A failure the chaos asked for (throttled, timed out, crashed): expected, never a bug. */
export class InjectedFault extends Error {
  site: string;
  constructor(site: string, what = "throttled") {
    super(`injected at ${site}: ${what}`);
    this.name = "InjectedFault";
    this.site = site;
  }
}

export async function gate(chaos: Chaos, site: string): Promise<void> {
  await chaos.pause();
  if (chaos.fails(site)) throw new InjectedFault(site);
}
