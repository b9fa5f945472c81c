/**
 * Italian codice fiscale (D.M. 23 dicembre 1976; omocodia: D.M. 12 marzo 1974 as amended), checked
 * in full: the 16-character pattern, the omocodia substitutions, month and day, and the check
 * character. Pure: no personal data ever leaves this function except a reason code.
 */

/** Digits that omocodia may replace, by 0-based index, and the letters that stand for 0–9. */
const OMOCODIA_POSITIONS = [6, 7, 9, 10, 12, 13, 14] as const;
const OMOCODIA_LETTERS = 'LMNPQRSTUV';
const MONTH_LETTERS = 'ABCDEHLMPRST';
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const PATTERN = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/;

/** Values of characters in odd (1st, 3rd, ...) positions; digits map like the letter of the same rank. */
const ODD_VALUES = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

export type FiscalCodeProblem = 'pattern' | 'month' | 'day' | 'check-character';

function rank(ch: string): number {
  const code = ch.charCodeAt(0);
  return code <= 57 ? code - 48 : code - 65; // '0'..'9' -> 0..9, 'A'..'Z' -> 0..25
}

export function fiscalCodeCheckCharacter(first15: string): string {
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const r = rank(first15[i]!);
    sum += i % 2 === 0 ? ODD_VALUES[r]! : r;
  }
  return String.fromCharCode(65 + (sum % 26));
}

/** Replaces omocodia letters with the digits they stand for (the check character is unaffected). */
export function withoutOmocodia(code: string): string {
  const chars = code.split('');
  for (const i of OMOCODIA_POSITIONS) {
    const k = OMOCODIA_LETTERS.indexOf(chars[i]!);
    if (k >= 0) chars[i] = String(k);
  }
  return chars.join('');
}

/** Returns the first problem found, or null when the code is valid. Expects upper case. */
export function fiscalCodeProblem(code: string): FiscalCodeProblem | null {
  if (!PATTERN.test(code)) return 'pattern';
  const plain = withoutOmocodia(code);
  const month = MONTH_LETTERS.indexOf(plain[8]!);
  if (month < 0) return 'month';
  const rawDay = Number(plain.slice(9, 11));
  const day = rawDay > 40 ? rawDay - 40 : rawDay; // women: day + 40
  if (day < 1 || day > DAYS_IN_MONTH[month]!) return 'day';
  if (fiscalCodeCheckCharacter(code.slice(0, 15)) !== code[15]) return 'check-character';
  return null;
}

export const FISCAL_CODE_MESSAGES: Record<FiscalCodeProblem, string> = {
  pattern: 'must be a 16-character Italian fiscal code',
  month: 'fiscal code has an invalid month letter',
  day: 'fiscal code has an invalid day of birth',
  'check-character': 'fiscal code check character does not match',
};
