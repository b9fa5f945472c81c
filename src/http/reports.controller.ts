import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { activityReport, type ReadModels } from '../../projections/read-models';
import { IsoDate } from '../../events';
import type { Actor } from '../access/actor';
import { Forbidden } from '../errors';
import { ProtocolLedger } from '../protocol/protocol-ledger';
import type { ReadBarrier } from '../reads/read-barrier';
import { CurrentActor, Roles } from './access';
import { READ_BARRIER, READ_MODELS } from './injection-tokens';
import { ValidQuery } from './validation';

const ActivityQuery = z
  .strictObject({ from: IsoDate.optional(), to: IsoDate.optional() })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ['to'], message: 'must not be before from' });

/** API.md "Case reads": zone aggregates, for coordinators and for coordination bodies. No case, no person. */
@ApiTags('reports')
@ApiBearerAuth()
@Controller('v1/reports')
export class ReportsController {
  constructor(
    private readonly protocols: ProtocolLedger,
    @Inject(READ_MODELS) private readonly models: ReadModels,
    @Inject(READ_BARRIER) private readonly barrier: ReadBarrier,
  ) {}

  @Get('activity')
  @Roles('coordinator', 'operator', 'dpo', 'auditor', 'admin')
  @ApiOperation({ summary: 'Counts by status, programme, need, outcome and month of opening; counts of 1 to 4 read "<5"' })
  @ApiQuery({ name: 'from', required: false, schema: { type: 'string', format: 'date' } })
  @ApiQuery({ name: 'to', required: false, schema: { type: 'string', format: 'date' } })
  async activity(@CurrentActor() actor: Actor, @ValidQuery(ActivityQuery) range: z.output<typeof ActivityQuery>) {
    const protocol = await this.protocols.current(actor.zone);
    const coordinationBody = protocol?.current.parties.find((p) => p.agency === actor.agency)?.kind === 'coordination';
    if (!actor.roles.includes('coordinator') && !coordinationBody) throw new Forbidden('the activity report is for coordinators and coordination bodies');
    await this.barrier.pass();
    return activityReport(this.models.index.summaries(actor.zone), range);
  }
}
