const pad = (n: number) => String(n).padStart(2, "0");

/** dd/mm/yyyy HH:MM in local time, as El Salvador writes dates. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
