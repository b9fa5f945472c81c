import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import type { EventStore } from '../events';
import type { ReadModels } from '../projections/read-models';
import type { TokenVerifier } from './access/tokens';
import { KeyStore } from './keys/key-store';
import { CASE_BEHAVIOURS } from './case/behaviours';
import { CaseLedger } from './case/case-ledger';
import type { ConsentExpiry } from './case/consent-expiry';
import { AccessGuard } from './http/access';
import { AccessTrailController } from './http/access-trail.controller';
import { AuditController } from './http/audit.controller';
import { Cursors } from './http/cursor';
import { Audit } from './audit/audit';
import { AUDIT_QUERY_HANDLERS } from './reads/audit-queries';
import { CaseReadsController } from './http/case-reads.controller';
import { commandRoutes } from './http/command-routes';
import { HealthController, type ReadinessCheck } from './http/health.controller';
import { IdempotentRequests } from './http/idempotent-requests';
import { KEY_RESERVATIONS, READINESS_CHECKS, TOKEN_VERIFIER } from './http/injection-tokens';
import { ProtocolController } from './http/protocol.controller';
import { ReportsController } from './http/reports.controller';
import { IdempotencyStore } from './idempotency/idempotency-store';
import { localReservations, sharedReservations } from './idempotency/shared-reservations';
import { CLOCK, type Clock } from './ledger/clock';
import { ProtocolLedger } from './protocol/protocol-ledger';
import { approveProposal, ApproveProposalHandler } from './protocol/approve-proposal';
import { eraseSubject, EraseSubjectHandler } from './subjects/erase-subject';
import { Erasures } from './subjects/erasures';
import type { Retention } from './subjects/retention';
import { signProtocol, SignProtocolHandler } from './protocol/sign-protocol';
import { GetActivityReportHandler } from './reads/activity-report';
import { CASE_QUERY_HANDLERS } from './reads/case-queries';
import { Disclosures } from './reads/disclosures';
import type { Projections } from './reads/projection-thread';
import { ReadBarrier } from './reads/read-barrier';
import { TRAIL_QUERY_HANDLERS } from './reads/trail-queries';

/** What the service is made of, built before Nest starts (store opened, keys loaded). */
export interface LedgerParts {
  readonly store: EventStore;
  readonly keys: KeyStore;
  readonly erasures: Erasures;
  readonly retention: Retention;
  readonly models: ReadModels;
  readonly projections: Projections;
  readonly barrier: ReadBarrier;
  readonly disclosures: Disclosures;
  readonly expiry: ConsentExpiry;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly verifyToken: TokenVerifier;
  readonly idempotency: IdempotencyStore;
  readonly cases: CaseLedger;
  readonly protocols: ProtocolLedger;
  readonly readiness: ReadinessCheck[];
  /** The auditors' side: Merkle logs, checkpoints, proofs. */
  readonly audit: Audit;
}

/** Every command the ledger accepts over HTTP: a route each, and a CommandBus handler each. */
const BEHAVIOURS = [...CASE_BEHAVIOURS, signProtocol, approveProposal, eraseSubject];

@Module({})
export class LedgerModule {
  static with(parts: LedgerParts): DynamicModule {
    const providers: Provider[] = [
      { provide: CLOCK, useValue: parts.clock },
      { provide: TOKEN_VERIFIER, useValue: parts.verifyToken },
      { provide: READINESS_CHECKS, useValue: parts.readiness },
      { provide: IdempotencyStore, useValue: parts.idempotency },
      {
        provide: KEY_RESERVATIONS,
        // Several instances may share an EventStoreDB: keys are reserved in the ledger they share.
        useValue:
          parts.store.name === 'eventstoredb' ? sharedReservations(parts.store, (text) => parts.keys.fingerprint(text), parts.idempotency) : localReservations(parts.idempotency),
      },
      { provide: CaseLedger, useValue: parts.cases },
      { provide: ProtocolLedger, useValue: parts.protocols },
      { provide: ReadBarrier, useValue: parts.barrier },
      { provide: Disclosures, useValue: parts.disclosures },
      { provide: KeyStore, useValue: parts.keys },
      { provide: Erasures, useValue: parts.erasures },
      { provide: Audit, useValue: parts.audit },
      { provide: APP_GUARD, useClass: AccessGuard },
      IdempotentRequests,
      Cursors,
      // The CommandBus and QueryBus find these by their @CommandHandler / @QueryHandler metadata.
      ...CASE_BEHAVIOURS.map((b) => b.Handler),
      SignProtocolHandler,
      ApproveProposalHandler,
      EraseSubjectHandler,
      ...CASE_QUERY_HANDLERS,
      ...TRAIL_QUERY_HANDLERS,
      ...AUDIT_QUERY_HANDLERS,
      GetActivityReportHandler,
    ];
    return {
      module: LedgerModule,
      imports: [CqrsModule.forRoot(), TerminusModule.forRoot({ logger: false }), LoggerModule.forRoot({ pinoHttp: { logger: parts.logger }, useExisting: true, forRoutes: [] })],
      controllers: [commandRoutes(BEHAVIOURS), CaseReadsController, ProtocolController, ReportsController, AccessTrailController, AuditController, HealthController],
      providers,
    };
  }
}
