/** Decimal units, as the bundle catalogue counts them (1 GB = 10^9 bytes). */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = n;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${units[unit]}`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function date(iso: string | null | undefined): string {
  if (!iso) return '—';
  const value = new Date(iso);
  return Number.isNaN(value.getTime()) ? iso : value.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

/** `CDS_WITH_LOCAL_COPY` → `CDS with local copy` */
export function words(constant: string): string {
  const text = constant.toLowerCase().replace(/_/g, ' ');
  return text.replace(/\bcds\b/g, 'CDS').replace(/^\w/, (c) => c.toUpperCase());
}

export function months(n: number): string {
  return n % 12 === 0 && n >= 12 ? `${n / 12} year${n === 12 ? '' : 's'}` : `${n} months`;
}
