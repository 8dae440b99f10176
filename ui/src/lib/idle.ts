/** Idle minutes before the session locks itself until the user picks another value (Rust keeps it). */
export const DEFAULT_IDLE_MINUTES = 10;
/** The choices offered in the status bar. */
export const IDLE_MINUTE_CHOICES = [5, 10, 15, 30, 60] as const;

/**
 * Calls `onIdle` once `ms` pass without `touch()`. Returns `touch` (call it on user activity)
 * and `stop`.
 */
export function idleTimer(ms: number, onIdle: () => void): { touch: () => void; stop: () => void } {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    if (handle !== undefined) clearTimeout(handle);
    handle = undefined;
  };
  const touch = () => {
    stop();
    handle = setTimeout(() => {
      handle = undefined;
      onIdle();
    }, ms);
  };
  touch();
  return { touch, stop };
}
