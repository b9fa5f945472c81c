import { Controller, Get } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CASE_STATUSES, Need, Outcome, Programme } from '../../events';
import type { Caller } from '../access/caller';
import { GetActivityReport } from '../reads/activity-report';
import { CurrentCaller, Roles } from './access';
import { ApiAnswer, ApiErrors, ApiQueryFrom } from './routes';
import { ValidQuery } from './validation';

/** Whole calendar months only (ENTITLEMENTS.md "Aggregates"). */
const Month = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month YYYY-MM')
  .meta({ maxLength: 7 });

const ActivityQuery = z
  .strictObject({ from: Month.optional(), to: Month.optional() })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ['to'], message: 'must not be before from' });

/** A count as the report shows it (projections/read-models: rounded to a multiple of 5, 1 to 4 read "<5"). */
const Count = z.union([z.int().min(0), z.literal('<5')]);
const Counts = <K extends z.ZodType<string, string>>(key: K) => z.partialRecord(key, Count);

const ActivityReport = z.object({
  from: Month.optional(),
  to: Month.optional(),
  cases: Count,
  byStatus: Counts(z.enum(CASE_STATUSES)),
  byProgramme: Counts(Programme),
  byNeed: Counts(Need),
  byOutcome: Counts(Outcome),
  byMonth: Counts(Month),
});

/** API.md "Case reads": zone aggregates, for coordinators and for coordination bodies (src/reads/activity-report.ts). */
@ApiTags('reports')
@ApiBearerAuth()
@ApiErrors('validation', 'unauthenticated', 'forbidden', 'internal', 'unavailable')
@Controller('v1/reports')
export class ReportsController {
  constructor(private readonly queries: QueryBus) {}

  @Get('activity')
  @Roles('coordinator', 'operator', 'dpo', 'auditor', 'admin')
  @ApiOperation({
    summary: 'Counts by status, programme, need, outcome and month of opening, whole months only; every count rounded to a multiple of 5, 1 to 4 read "<5"',
    description:
      "A coordination body's report counts the zone; a coordinator's counts what its own agency is shown. Only months that have ended are counted (UTC, by the service's clock): a month under way as from or to is a 400, and without to the report runs to the last month that has ended.",
  })
  @ApiQueryFrom(ActivityQuery)
  @ApiAnswer(200, ActivityReport, { description: 'the counts; a key with no case is absent' })
  activity(@CurrentCaller() caller: Caller, @ValidQuery(ActivityQuery) range: z.output<typeof ActivityQuery>) {
    return this.queries.execute(new GetActivityReport(caller, range));
  }
}
