/**
 * The fault plan of one seed: how often each call site fails, how often SQS delivers twice, which
 * invocations die mid-way, and which client sits on a bad line. Drawn from the run's one random
 * sequence, in a fixed order, before anything else is: it must never draw at another moment.
 */
import type { Chaos } from "../fakes/index.ts";
import { TENANTS, type Life, type Run } from "./model.ts";

export interface FaultPlan {
  /** What the fakes ask before every call. */
  chaos: Chaos;
  /** Whether SQS now delivers a message twice (a duplicate in a batch, or a delete that is lost): only while faults are on. */
  deliversTwice(): boolean;
  /** The target's calls hang for good once its invocation dies (a Lambda killed mid-way): nothing after that call happens. */
  mortal<T extends object>(target: T, life: Life): T;
}

export function planFaults(run: Run): FaultPlan {
  const { random, draw } = run;
  /** Some seeds are calm, some stormy: each site's fault rate is drawn per seed around one level. */
  const level = random() * 0.25;
  const rates = new Map<string, number>();
  const rateOf = (site: string) => {
    let rate = rates.get(site);
    if (rate === undefined) rates.set(site, (rate = level * 2 * random()));
    return rate;
  };
  // Receivers and posts always fail now and then; some seeds have a client on a bad line, whose posts mostly fail (never 410).
  rates.set("receiver.send", 0.1 + level * 2 * random());
  rates.set("poster.postAll", 0.05 + level * 2 * random());
  const hangRate = random() < 0.5 ? 0 : random() * 0.01;
  const duplicateRate = random() * 0.2;
  const badLine = random() < 0.3 ? `${TENANTS[draw(2)]}.client0.` : null;
  const chaos: Chaos = {
    fails(site, subject) {
      const rate = badLine !== null && subject?.startsWith(badLine) ? 0.9 : rateOf(site);
      if (!run.isChaotic || random() >= rate) return false;
      run.count(`fault ${site}`);
      run.note(`fault ${site}`);
      return true;
    },
    random,
    async pause() {
      // Mostly a turn or two; now and then a long one, as a slow request is (latency has a heavy tail).
      for (let turns = random() < 0.05 ? draw(60) : draw(3); turns > 0; turns--) await null;
    },
  };
  return {
    chaos,
    deliversTwice: () => run.isChaotic && random() < duplicateRate,
    mortal<T extends object>(target: T, life: Life): T {
      return new Proxy(target, {
        get(object, property) {
          const value: unknown = Reflect.get(object, property);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            if (!life.isDead && run.isChaotic && random() < hangRate) {
              life.isDead = true;
              run.count("died");
              run.note(`an invocation died before ${String(property)}`);
            }
            return life.isDead ? new Promise(() => {}) : (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        },
      });
    },
  };
}
