const pad = (n: number) => String(n).padStart(2, "0");

/** El Salvador keeps UTC−6 all year (no daylight saving time). */
const SV_OFFSET_MS = -6 * 3600 * 1000;

/** dd/mm/yyyy HH:MM on El Salvador's clock, whatever the machine's time zone: the same day
 *  "Hoy" and the forms use (lib/intake isoToday). */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const sv = new Date(d.getTime() + SV_OFFSET_MS);
  return `${pad(sv.getUTCDate())}/${pad(sv.getUTCMonth() + 1)}/${sv.getUTCFullYear()} ${pad(sv.getUTCHours())}:${pad(sv.getUTCMinutes())}`;
}
