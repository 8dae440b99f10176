// One way to call Rust from a form: clear the error, run the call, then refresh; on failure show
// the error in the user's language (translated by its code).
import { tError } from "../i18n/index.svelte";
import { toIpcError } from "../ipc";

/** Runs `action`; `report(null)` first, `report(message)` if it fails, `then()` if it succeeds. */
export async function attempt(
  action: () => Promise<unknown>,
  report: (message: string | null) => void,
  then?: () => void,
): Promise<boolean> {
  report(null);
  try {
    await action();
    then?.();
    return true;
  } catch (raw) {
    report(tError(toIpcError(raw)));
    return false;
  }
}
