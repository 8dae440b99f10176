/** Default idle time before the session locks itself (issue: configurable, default 10 min). */
export const IDLE_LOCK_MS = 10 * 60 * 1000;

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
