import { Writable } from 'node:stream';
import { createLogger, loggablePath } from '../../src/logging';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

describe('log redaction, the second line of defence', () => {
  it('censors identifying fields and whole subtrees that could hold a person', async () => {
    const { logger, lines } = capture();
    logger.info(
      {
        person: { fiscalCode: 'RSSMRA85T10A562S' },
        fiscalCode: 'RSSMRA85T10A562S',
        req: { body: { note: 'in treatment' }, headers: { authorization: 'Bearer abc' } },
        err: { data: { givenName: 'Mario' } },
      },
      'x',
    );
    logger.info({ event: { notes: [{ text: 'in treatment' }] }, givenName: 'Mario', text: 'in treatment' }, 'y');
    logger.flush();
    await new Promise((r) => setTimeout(r, 20));
    const all = lines.join('');
    for (const secret of ['RSSMRA85T10A562S', 'in treatment', 'Mario', 'Bearer abc']) expect(all).not.toContain(secret);
    expect(all).toContain('[redacted]');
  });

  it('logs paths without query strings and with fiscal codes masked', () => {
    expect(loggablePath('/v1/access-trail/subjects/RSSMRA85T10A562S?x=1')).toBe('/v1/access-trail/subjects/[redacted]');
    expect(loggablePath('/v1/cases?status=closed&name=Rossi')).toBe('/v1/cases');
    expect(loggablePath('/v1/other/rssmra85t10a562s')).toBe('/v1/other/[redacted]');
  });
});
