import { Writable } from 'node:stream';
import { accessLogLine, createLogger } from '../../src/logging';

/** The access line is built by hand for speed (src/logging.ts): it must be the line pino would write. */
describe('the access log line', () => {
  const capture = () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    return { lines, logger: createLogger('info', destination) };
  };
  const withoutTime = (line: string) => {
    const { time, ...rest } = JSON.parse(line) as Record<string, unknown>;
    expect(new Date(time as string).toISOString()).toBe(time);
    return rest;
  };

  it('is what logger.info writes for the same request, key for key, with the path masked', () => {
    const { lines, logger } = capture();
    const request = {
      id: 'req-"1"\\',
      method: 'GET',
      url: '/v1/access-trail/subjects/RSSMRA85T10A562S?who=Rossi',
      routeOptions: { url: '/v1/access-trail/subjects/:fiscalCode' },
      params: { fiscalCode: 'RSSMRA85T10A562S' },
    };
    accessLogLine(logger, request, 200, 1.26);
    const path = '/v1/access-trail/subjects/[redacted]';
    logger.info({ reqId: request.id, req: { method: 'GET', path }, res: { statusCode: 200 }, responseTime: 1.3 }, `GET ${path} 200`);
    expect(lines).toHaveLength(2);
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual(Object.keys(JSON.parse(lines[1]!) as object));
    expect(withoutTime(lines[0]!)).toEqual(withoutTime(lines[1]!));
    expect(lines[0]).not.toContain('RSSMRA85T10A562S');
    expect(lines[0]).not.toContain('Rossi');
  });

  it('is not written for health checks, nor below the info level', () => {
    const { lines, logger } = capture();
    accessLogLine(logger, { id: 'r', method: 'GET', url: '/health/ready' }, 200, 1);
    logger.level = 'warn';
    accessLogLine(logger, { id: 'r', method: 'GET', url: '/v1/cases' }, 200, 1);
    expect(lines).toEqual([]);
  });
});
