/**
 * A Deno KV handle whose commits can be held back (tests): while the gate is
 * closed every `atomic().commit()` waits, so a write-behind backlog grows
 * deterministically, without timing.
 *
 * @module
 */

/** A KV handle and the gate its commits wait on. */
export interface GatedKv {
  /** Use it as the database. */
  kv: Deno.Kv;
  /** Holds back every commit from now on. */
  close(): void;
  /** Lets every waiting and later commit through. */
  open(): void;
  /** Commits waiting at the gate now. */
  readonly waiting: number;
  /** Resolves once at least `count` commits wait at the gate. */
  blocked(count?: number): Promise<void>;
}

/** Wraps `kv` so its commits pass a gate (open at first). */
export function gateKv(kv: Deno.Kv): GatedKv {
  let gate: Promise<void> | undefined;
  let release = () => {};
  let waiting = 0;
  const watchers = new Set<() => void>();
  const wrapAtomic = (op: Deno.AtomicOperation): Deno.AtomicOperation => {
    const wrapped: Deno.AtomicOperation = new Proxy(op, {
      get(target, name) {
        if (name === "commit") {
          return async () => {
            while (gate !== undefined) {
              waiting += 1;
              for (const watch of watchers) watch();
              await gate;
              waiting -= 1;
            }
            return await target.commit();
          };
        }
        const value: unknown = Reflect.get(target, name);
        if (typeof value !== "function") return value;
        // Chained calls (check, set, delete) return the proxy again.
        return (...args: unknown[]) => {
          const result: unknown = Reflect.apply(value, target, args);
          return result === target ? wrapped : result;
        };
      },
    });
    return wrapped;
  };
  const proxy = new Proxy(kv, {
    get(target, name) {
      if (name === "atomic") return () => wrapAtomic(target.atomic());
      const value: unknown = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    kv: proxy,
    close() {
      if (gate !== undefined) return;
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    open() {
      gate = undefined;
      release();
    },
    get waiting() {
      return waiting;
    },
    blocked(count = 1) {
      if (waiting >= count) return Promise.resolve();
      return new Promise((resolve) => {
        const watch = () => {
          if (waiting < count) return;
          watchers.delete(watch);
          resolve();
        };
        watchers.add(watch);
      });
    },
  };
}
