/**
 * Number formatting shared by the terminal table, report.md and report.html, so the three agree
 * digit for digit.
 */

/** 0.97342 -> "97.3%". Attainment is shown with one decimal: 99.95% and 100% differ in a 1M-request trace. */
export function fmtPct(fraction: number): string {
  if (!Number.isFinite(fraction)) return '—';
  return `${(fraction * 100).toFixed(1)}%`;
}

/** 412.37 -> "412", 8.04 -> "8.0", 12345 -> "12,345". Latencies under 10 ms keep a decimal (ITL is often 5-30 ms). */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (Math.abs(ms) < 10) return ms.toFixed(1);
  return Math.round(ms).toLocaleString('en-US');
}

/** GPU-hours: 41.5 -> "41.50", 1234.5 -> "1,234.5" (two decimals below 100, one above). */
export function fmtGpuHours(hours: number): string {
  if (!Number.isFinite(hours)) return '—';
  const digits = Math.abs(hours) < 100 ? 2 : 1;
  return hours.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** 166 -> "$166.00", 12345.678 -> "$12,345.68". */
export function fmtMoney(amount: number): string {
  if (!Number.isFinite(amount)) return '—';
  return `$${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Ratio to a reference run: 1.1234 -> "1.12×"; undefined (no reference) -> "—". */
export function fmtRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '—';
  return `${ratio.toFixed(2)}×`;
}

/** Counts: 12345 -> "12,345". */
export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

/** 3600 -> "1h 00m", 2710 -> "45m 10s", 12.34 -> "12.3 s", 0.384 -> "0.38 s", 93784 -> "1d 2h 03m". */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = s % 60;
  const mm = String(minutes).padStart(2, '0');
  if (days > 0) return `${days}d ${hours}h ${mm}m`;
  if (hours > 0) return `${hours}h ${mm}m`;
  return `${minutes}m ${String(secs).padStart(2, '0')}s`;
}

/** Rates: 1234567 -> "1.23M", 45300 -> "45.3k", 950 -> "950", 3.25 -> "3.3". */
export function fmtRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—';
  const abs = Math.abs(perSecond);
  if (abs >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k`;
  if (abs >= 100) return Math.round(perSecond).toString();
  return perSecond.toFixed(1);
}

/** A saving: 12.5 -> "12.50", -3.2 -> "−3.20" (costs more), with fmtGpuHours' digits. */
export function fmtSavedGpuHours(hours: number | undefined): string {
  if (hours === undefined || !Number.isFinite(hours)) return '—';
  return hours < 0 ? `−${fmtGpuHours(-hours)}` : fmtGpuHours(hours);
}

/** A saving in money: 150 -> "$150.00", -20 -> "−$20.00" (costs more). */
export function fmtSavedMoney(amount: number | undefined): string {
  if (amount === undefined || !Number.isFinite(amount)) return '—';
  return amount < 0 ? `−${fmtMoney(-amount)}` : fmtMoney(amount);
}
