import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import type { TokenVerifier } from './access/tokens';
import { CaseLedger } from './case/case-ledger';
import { RunCaseCommandHandler } from './case/run-case-command';
import type { Clock } from './ledger/clock';
import { AccessGuard } from './http/access';
import { CaseCommandsController } from './http/case-commands.controller';
import { HealthController, type ReadinessCheck } from './http/health.controller';
import { IdempotencyInterceptor } from './http/idempotency.interceptor';
import { AccessTrailController } from './http/access-trail.controller';
import { CaseReadsController } from './http/case-reads.controller';
import { AGENCY_VIEWS, CLOCK, DISCLOSURES, EVENT_STORE, READ_BARRIER, READ_MODELS, READINESS_CHECKS, TOKEN_VERIFIER } from './http/injection-tokens';
import { ReportsController } from './http/reports.controller';
import { ProtocolController } from './http/protocol.controller';
import { IdempotencyStore } from './idempotency/idempotency-store';
import { ProtocolLedger } from './protocol/protocol-ledger';
import { SignProtocolCommandHandler } from './protocol/sign-protocol-command';
import type { EventStore } from '../events/event-store';
import type { Projections } from './reads/projection-thread';
import type { ReadModels } from '../projections/read-models';
import type { ConsentExpiry } from './case/consent-expiry';
import type { AgencyViews } from './reads/agency-views';
import { GetCaseHistoryHandler, GetCaseViewHandler, ListCasesHandler } from './reads/case-queries';
import type { Disclosures } from './reads/disclosures';
import type { ReadBarrier } from './reads/read-barrier';

/** What the service is made of, built before Nest starts (store opened, keys loaded). */
export interface LedgerParts {
  readonly store: EventStore;
  readonly models: ReadModels;
  readonly projections: Projections;
  readonly barrier: ReadBarrier;
  readonly disclosures: Disclosures;
  readonly views: AgencyViews;
  readonly expiry: ConsentExpiry;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly verifyToken: TokenVerifier;
  readonly idempotency: IdempotencyStore;
  readonly cases: CaseLedger;
  readonly protocols: ProtocolLedger;
  readonly readiness: ReadinessCheck[];
}

@Module({})
export class LedgerModule {
  static with(parts: LedgerParts): DynamicModule {
    const providers: Provider[] = [
      { provide: EVENT_STORE, useValue: parts.store },
      { provide: CLOCK, useValue: parts.clock },
      { provide: TOKEN_VERIFIER, useValue: parts.verifyToken },
      { provide: READINESS_CHECKS, useValue: parts.readiness },
      { provide: IdempotencyStore, useValue: parts.idempotency },
      { provide: CaseLedger, useValue: parts.cases },
      { provide: ProtocolLedger, useValue: parts.protocols },
      { provide: READ_MODELS, useValue: parts.models },
      { provide: READ_BARRIER, useValue: parts.barrier },
      { provide: DISCLOSURES, useValue: parts.disclosures },
      { provide: AGENCY_VIEWS, useValue: parts.views },
      GetCaseViewHandler,
      GetCaseHistoryHandler,
      ListCasesHandler,
      { provide: APP_GUARD, useClass: AccessGuard },
      IdempotencyInterceptor,
      RunCaseCommandHandler,
      SignProtocolCommandHandler,
    ];
    return {
      module: LedgerModule,
      imports: [CqrsModule.forRoot(), TerminusModule.forRoot({ logger: false }), LoggerModule.forRoot({ pinoHttp: { logger: parts.logger }, useExisting: true, forRoutes: [] })],
      controllers: [CaseCommandsController, CaseReadsController, ProtocolController, ReportsController, AccessTrailController, HealthController],
      providers,
    };
  }
}
