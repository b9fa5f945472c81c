import { NotFoundException } from '@nestjs/common';
import { z } from 'zod';
import { StoreUnavailableError } from '../../events';
import { ERRORS, NotFound, RuleViolation, Unavailable, ValidationFailed } from '../../src/errors';
import { errorResponse } from '../../src/http/error-response';

describe('the one error mapping', () => {
  it('answers every code of the table with the status the table gives it', () => {
    expect(errorResponse(new NotFound('no such case'))).toEqual({ status: ERRORS['not-found'].status, body: { error: 'not-found', message: 'no such case' } });
    expect(errorResponse(new RuleViolation('case-closed'))).toEqual({
      status: 422,
      body: { error: 'rule-violation', message: 'only reopening is allowed on a closed case', rule: 'case-closed' },
    });
    expect(errorResponse(new ValidationFailed([{ path: 'needs', message: 'required' }])).body.issues).toEqual([{ path: 'needs', message: 'required' }]);
  });

  it('treats a ZodError that escaped request validation (a stored event that does not encode or decode) as a server fault', () => {
    const error = z.object({ caseId: z.uuid() }).safeParse({ caseId: 'x' }).error!;
    expect(errorResponse(error)).toEqual({ status: 500, body: { error: 'internal', message: 'internal error' } });
  });

  it('never says which part is down in a 503', () => {
    for (const error of [new Unavailable('the views are catching up'), new StoreUnavailableError('EventStoreDB did not answer at 10.0.0.3')]) {
      expect(errorResponse(error)).toEqual({ status: 503, body: { error: 'unavailable', message: 'the service is unavailable, try again' } });
    }
  });

  it("maps the framework's own 404 to the table's not-found", () => {
    expect(errorResponse(new NotFoundException('Cannot GET /nope'))).toEqual({ status: 404, body: { error: 'not-found', message: 'not found' } });
  });

  it('hides anything unknown behind a 500 without detail', () => {
    expect(errorResponse(new Error('SQLITE_CORRUPT at /data/ledger.db'))).toEqual({ status: 500, body: { error: 'internal', message: 'internal error' } });
  });
});
