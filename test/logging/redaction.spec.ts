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

  it('logs the route matched, without query string, with only case ids and numbers written out', () => {
    const caseId = '6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11';
    const path = (url: string, route?: string, params?: Record<string, string>) => loggablePath({ url, routeOptions: { url: route }, params });
    expect(path('/v1/access-trail/subjects/RSSMRA85T10A562S?x=1', '/v1/access-trail/subjects/:fiscalCode', { fiscalCode: 'RSSMRA85T10A562S' })).toBe(
      '/v1/access-trail/subjects/[redacted]',
    );
    expect(path('/v1/cases?status=closed&name=Rossi', '/v1/cases')).toBe('/v1/cases');
    expect(path(`/v1/cases/${caseId}/plan-revisions/3/agreement`, '/v1/cases/:id/plan-revisions/:n/agreement', { id: caseId, n: '3' })).toBe(
      `/v1/cases/${caseId}/plan-revisions/3/agreement`,
    );
    // Whatever is typed where a case id goes: a name, a fiscal code percent-encoded so no pattern would see it.
    expect(path('/v1/cases/Rossi%20Mario', '/v1/cases/:id', { id: 'Rossi Mario' })).toBe('/v1/cases/[redacted]');
    expect(path('/v1/cases/RSSMRA85T10A562%53', '/v1/cases/:id', { id: 'RSSMRA85T10A562S' })).toBe('/v1/cases/[redacted]');
    expect(path('/v1/other/rssmra85t10a562s')).toBe('[no route]');
    expect(path('/v1/other/rssmra85t10a562s', '*')).toBe('[no route]');
  });
});
