// Number, text and name formatting shared by every renderer (Markdown, HTML, console, chart labels).
// Conventions: ratios to 2 decimals with "×"; ms, tok/s and req/s to 1 decimal; rates (a unit of
// "rate" / "fraction" / "share", or an extra whose name ends in "rate") as a percentage of a 0..1
// fraction; a unit of "%" is taken as already in percent. A missing value prints as "—".

const MISSING = '—';

/** Units whose value is a 0..1 fraction shown as a percentage. */
const FRACTION_UNITS = new Set(['rate', 'fraction', 'share']);
/** Units shown with one decimal. */
const ONE_DECIMAL_UNITS = new Set(['ms', 'tok/s', 'tokens/s', 'req/s', 'rps', 'mb', 'gb', 'gb/s', '%']);
const RATIO_UNITS = new Set(['×', 'x', 'ratio']);

export function formatRatio(ratio: number | null): string {
  if (ratio === null) return MISSING;
  if (!Number.isFinite(ratio)) return nonFinite(ratio);
  return `${ratio.toFixed(2)}×`;
}

/** A value as it appears in a table cell beside a separate unit column. */
export function formatValue(value: number | null, unit: string): string {
  if (value === null) return MISSING;
  if (!Number.isFinite(value)) return nonFinite(value);
  const u = unit.trim().toLowerCase();
  if (FRACTION_UNITS.has(u)) return `${(value * 100).toFixed(1)} %`;
  if (u === '%') return `${value.toFixed(1)} %`;
  if (RATIO_UNITS.has(u)) return formatRatio(value);
  if (ONE_DECIMAL_UNITS.has(u)) return value.toFixed(1);
  return formatNumber(value);
}

/** A value with its unit attached ("123.4 ms"), for places without a unit column. */
export function formatWithUnit(value: number | null, unit: string): string {
  const text = formatValue(value, unit);
  const u = unit.trim().toLowerCase();
  if (value === null || !Number.isFinite(value) || u === '' || FRACTION_UNITS.has(u) || u === '%' || RATIO_UNITS.has(u)) return text;
  return `${text} ${unit.trim()}`;
}

/** Integers as they are; others to 2 decimals below 100 and to 1 decimal from 100 up. */
export function formatNumber(value: number | null): string {
  if (value === null) return MISSING;
  if (!Number.isFinite(value)) return nonFinite(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toFixed(2);
}

export function formatMs(value: number | null): string {
  return value === null ? MISSING : formatWithUnit(value, 'ms');
}

export function formatTokPerS(value: number | null): string {
  return value === null ? MISSING : formatWithUnit(value, 'tok/s');
}

export function formatRate(fraction: number | null): string {
  return formatValue(fraction, 'rate');
}

/** An extra figure from RunSummary.extra: names ending in "rate" are fractions. */
export function formatExtra(key: string, value: number): string {
  return isRateKey(key) ? formatRate(value) : formatNumber(value);
}

export function isRateKey(key: string): boolean {
  return /rate$/i.test(key);
}

export function formatPass(pass: boolean | null): string {
  if (pass === null) return MISSING;
  return pass ? '✓ pass' : '✗ FAIL';
}

function nonFinite(value: number): string {
  if (Number.isNaN(value)) return 'n/a';
  return value > 0 ? '∞' : '−∞';
}

/** Escapes text for HTML element content and double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A file-name- and anchor-safe slug: lower-case letters, digits and single dashes. */
export function slug(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return s === '' ? 'x' : s;
}

/** Slugs for a list of names, suffixed "-2", "-3", … where two would collide. */
export function uniqueSlugs(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    const base = slug(name);
    let candidate = base;
    for (let n = 2; seen.has(candidate); n += 1) candidate = `${base}-${n}`;
    seen.add(candidate);
    return candidate;
  });
}

/** x rounded to 3 decimals: how every figure in results.json is written. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
