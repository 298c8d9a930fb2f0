/** Waiting for a state of the extension's server supervisor (src/extension/supervisor.ts) in tests. */
import type { ServerState, ServerSupervisor } from "../../src/extension/supervisor.js";

/** Resolves with the first state (the current one included) that passes `test`. */
export function until(supervisor: ServerSupervisor, what: string, test: (s: ServerState) => boolean, timeoutMs = 15_000): Promise<ServerState> {
  if (test(supervisor.state)) return Promise.resolve(supervisor.state);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; state ${JSON.stringify(supervisor.state)}`)), timeoutMs);
    const stop = supervisor.onState((s) => {
      if (!test(s)) return;
      clearTimeout(timer);
      stop();
      resolve(s);
    });
  });
}
