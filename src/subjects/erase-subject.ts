import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { z } from 'zod';
import { ERASURE_BASES, ERASURE_REASONS, FiscalCode } from '../../events';
import type { Behaviour, CommandOrigin } from '../ledger/behaviour';
import { Erasures } from './erasures';

const EraseBody = z.strictObject({
  legalBasis: z.enum(ERASURE_BASES).meta({ description: 'the ground of art. 17(1) GDPR (or the end of the retention period)' }),
  reason: z.enum(ERASURE_REASONS),
});

/** The answer: when the person's keys were destroyed. Nothing else: not even how many cases, in which zones. */
const Erased = z.object({ erased: z.literal(true), erasedAt: z.iso.datetime().max(40) });
type Erased = z.infer<typeof Erased>;

export class EraseSubject {
  constructor(
    readonly origin: CommandOrigin,
    readonly fiscalCode: string,
    readonly body: z.output<typeof EraseBody>,
  ) {}
}

@Injectable()
@CommandHandler(EraseSubject)
export class EraseSubjectHandler implements ICommandHandler<EraseSubject, Erased> {
  constructor(@Inject(Erasures) private readonly erasures: Erasures) {}

  async execute({ origin, fiscalCode, body }: EraseSubject): Promise<Erased> {
    const { erasedAt } = await this.erasures.erase(fiscalCode, { actor: origin.actor, ...body, correlationId: origin.correlationId });
    return { erased: true, erasedAt };
  }
}

/**
 * POST /v1/subjects/{fiscalCode}/erasure (API.md "Erasure"): destroys the person's data keys.
 * Their data reads as erased everywhere, in every case and zone; the erasure is an event of its
 * own without personal data, on the access trail. A repeat is idempotent, and a person the
 * ledger never knew is answered the same way (the answer does not tell whether they were known).
 */
export const eraseSubject: Behaviour<typeof EraseBody, { fiscalCode: typeof FiscalCode }, Erased> = {
  name: 'EraseSubject',
  route: {
    method: 'POST',
    path: 'subjects/:fiscalCode/erasure',
    params: { fiscalCode: FiscalCode },
    roles: ['admin'],
    summary: 'Erase a person: destroy their data keys, so that every datum of theirs, in every case and zone, reads as erased',
  },
  body: EraseBody,
  answer: Erased,
  command: (origin, params, body) => new EraseSubject(origin, params.fiscalCode, body),
};
