import { FiscalCode, fiscalCodeCheckCharacter, fiscalCodeProblem, withoutOmocodia } from '../../events';

describe('fiscal code (codice fiscale)', () => {
  it.each(['RSSMRA85T10A562S', 'MRTMTT25D09F205Z'])('accepts the published example %s', (code) => {
    expect(fiscalCodeProblem(code)).toBeNull();
  });

  it('accepts an omocodia variant, whose letters stand for digits, with its own check character', () => {
    const omocodic = 'RSSMRA85T10A56N';
    const code = omocodic + fiscalCodeCheckCharacter(omocodic);
    expect(withoutOmocodia(code).slice(0, 15)).toBe('RSSMRA85T10A562');
    expect(fiscalCodeProblem(code)).toBeNull();
  });

  it('rejects a wrong check character', () => {
    expect(fiscalCodeProblem('RSSMRA85T10A562T')).toBe('check-character');
  });

  it('rejects letters outside the omocodia set in digit positions', () => {
    expect(fiscalCodeProblem('RSSMRA8AT10A562S')).toBe('pattern');
  });

  it('rejects an invalid month letter', () => {
    expect(fiscalCodeProblem('RSSMRA85F10A562S')).toBe('pattern');
  });

  it('rejects a day of birth that no month has, for men and for women', () => {
    const base = 'RSSMRA85B30A562';
    expect(fiscalCodeProblem(base + fiscalCodeCheckCharacter(base))).toBe('day');
    const woman = 'RSSMRA85T72A562';
    expect(fiscalCodeProblem(woman + fiscalCodeCheckCharacter(woman))).toBe('day');
    const zero = 'RSSMRA85T00A562';
    expect(fiscalCodeProblem(zero + fiscalCodeCheckCharacter(zero))).toBe('day');
  });

  it('rejects wrong length and punctuation', () => {
    expect(fiscalCodeProblem('RSSMRA85T10A562')).toBe('pattern');
    expect(fiscalCodeProblem('RSSMRA85T10A562SS')).toBe('pattern');
    expect(fiscalCodeProblem('RSS-RA85T10A562S')).toBe('pattern');
  });

  it('normalises case and surrounding spaces in the schema, and never echoes the code in its message', () => {
    expect(FiscalCode.parse(' rssmra85t10a562s ')).toBe('RSSMRA85T10A562S');
    const result = FiscalCode.safeParse('RSSMRA85T10A562T');
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).not.toContain('RSSMRA85T10A562');
  });
});
