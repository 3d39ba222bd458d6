/**
 * Event times as epoch milliseconds. Every progress report's `at` is read once per event, and
 * `Date.parse` is a quarter of the estimator's apply time (bench/estimator.ts), so the form that
 * producers and the SDKs send — `YYYY-MM-DDTHH:MM:SS.sssZ`, what `Date.toISOString` writes — is
 * read by hand, with the minute of the last time read kept (a memo: the result depends only on the
 * text); anything else the contract admits (other precisions, offsets) goes to `Date.parse`.
 */
const ZERO = 48;

function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = text.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** The minute of the last time read, and its epoch ms: events of a batch mostly share it. */
let lastMinute = "";
let lastMinuteMs = 0;

export function timeOf(iso: string): number {
  if (iso.length === 24 && iso.charCodeAt(23) === 90 /* Z */ && iso.startsWith(lastMinute) && lastMinute !== "") {
    const second = digits(iso, 17, 2);
    const ms = digits(iso, 20, 3);
    if (iso.charCodeAt(16) === 58 /* : */ && iso.charCodeAt(19) === 46 /* . */ && second >= 0 && second < 60 && ms >= 0) return lastMinuteMs + second * 1000 + ms;
  }
  if (iso.length === 24 && iso.charCodeAt(23) === 90 /* Z */ && iso.charCodeAt(19) === 46 /* . */) {
    const year = digits(iso, 0, 4);
    const month = digits(iso, 5, 2);
    const day = digits(iso, 8, 2);
    const hour = digits(iso, 11, 2);
    const minute = digits(iso, 14, 2);
    const second = digits(iso, 17, 2);
    const ms = digits(iso, 20, 3);
    // Date.UTC takes years 0–99 as 1900–1999: those go to Date.parse.
    if ((year | month | day | hour | minute | second | ms) >= 0 && year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour < 24 && minute < 60 && second < 60) {
      lastMinute = iso.slice(0, 16);
      lastMinuteMs = Date.UTC(year, month - 1, day, hour, minute);
      return lastMinuteMs + second * 1000 + ms;
    }
  }
  return Date.parse(iso);
}
