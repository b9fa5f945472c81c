import { csvCell } from '../../src/http/access-trail.controller';

describe('a CSV cell of the access trail', () => {
  it.each(['=HYPERLINK("http://x","y")', '+1+1', '-2-1', '@SUM(A1)', '\tcmd', '\rcmd'])('neutralises %j with a leading quote, quoted', (text) => {
    const cell = csvCell(text);
    expect(cell.startsWith(`"'`)).toBe(true);
    expect(cell.slice(2, -1).replace(/""/g, '"')).toBe(text);
  });

  it('leaves ordinary text alone and quotes what holds a comma, a quote or a line break', () => {
    expect(csvCell('case-management')).toBe('case-management');
    expect(csvCell(['health', 'common'])).toBe('health common');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell(undefined)).toBe('');
  });
});
