import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import type { TokenVerifier } from './auth/tokens';
import { CaseLedger } from './case/case-ledger';
import { RunCaseCommandHandler } from './case/run-case-command';
import type { Clock } from './clock';
import { AccessGuard } from './http/access';
import { CaseCommandsController } from './http/case-commands.controller';
import { HealthController, type ReadinessCheck } from './http/health.controller';
import { IdempotencyInterceptor } from './http/idempotency.interceptor';
import { CLOCK, EVENT_STORE, READINESS_CHECKS, TOKEN_VERIFIER } from './http/injection-tokens';
import { ProtocolController } from './http/protocol.controller';
import { IdempotencyStore } from './idempotency/idempotency-store';
import { httpLogOptions } from './logging';
import { ProtocolLedger } from './protocol/protocol-ledger';
import { SignProtocolCommandHandler } from './protocol/sign-protocol-command';
import type { EventStore } from './store/event-store';

/** What the service is made of, built before Nest starts (store opened, keys loaded). */
export interface LedgerParts {
  readonly store: EventStore;
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
      { provide: APP_GUARD, useClass: AccessGuard },
      { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      RunCaseCommandHandler,
      SignProtocolCommandHandler,
    ];
    return {
      module: LedgerModule,
      imports: [CqrsModule.forRoot(), TerminusModule.forRoot({ logger: false }), LoggerModule.forRoot({ pinoHttp: httpLogOptions(parts.logger) })],
      controllers: [CaseCommandsController, ProtocolController, HealthController],
      providers,
    };
  }
}
