/** Flink's list timestamp format, dd.MM.yyyy HH:mm:ss in local time. */
export function formatTimestamp(ms: number): string {
  if (!(ms > 0)) return '--.--.---- --:--:--';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
