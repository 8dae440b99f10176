// The text size a person chose for this device (a display preference, not personal data): the
// root font is 15 px times the scale, and the whole UI is sized in rem, so it grows with it.

export const TEXT_SCALES = [1, 1.15, 1.3, 1.5, 1.75, 2] as const;
export type TextScale = (typeof TEXT_SCALES)[number];

const KEY = "reintegra.textScale";

/** A stored value back to a scale; 1 for anything unknown. */
export function parseScale(raw: string | null): TextScale {
  const n = Number(raw);
  return (TEXT_SCALES as readonly number[]).includes(n) ? (n as TextScale) : 1;
}

export function percent(scale: TextScale): string {
  return `${Math.round(scale * 100)} %`;
}

export function savedScale(storage: Pick<Storage, "getItem"> | undefined = globalThis.localStorage): TextScale {
  try {
    return parseScale(storage?.getItem(KEY) ?? null);
  } catch {
    return 1;
  }
}

/** Applies `scale` to the page and remembers it on this device. */
export function applyScale(scale: TextScale, storage: Pick<Storage, "setItem"> | undefined = globalThis.localStorage): void {
  if (typeof document !== "undefined") document.documentElement.style.setProperty("--text-scale", String(scale));
  try {
    storage?.setItem(KEY, String(scale));
  } catch {
    // Not remembered; it still holds for this session.
  }
}
