import { Inject, Injectable, type Type } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { z } from 'zod';
import type { CaseEvent } from '../../events';
import type { Behaviour, CommandOrigin, CommandRoute, ParamShape, ParamValues } from '../ledger/behaviour';
import { CaseLedger, type CaseCommandResult } from './case-ledger';
import type { CaseDecision } from './decision';

/**
 * What every case command answers (API.md "Conventions": 201 with at least these), plus the
 * fields a behaviour adds from the events it made.
 */
export const CommandAccepted = z.object({
  caseId: z.uuid(),
  revision: z.int().min(0).meta({ description: 'the case revision after the command; send it back in If-Match' }),
  position: z.int().min(0).meta({ description: 'the position of the last appended event in the global log' }),
  consentId: z.uuid().optional(),
  planRevision: z.int().min(1).optional(),
});
export type CommandAccepted = z.infer<typeof CommandAccepted>;
type AnswerFields = Omit<CommandAccepted, 'caseId' | 'revision' | 'position'>;

/** A case id in a path: any UUID spelling (RFC 9562 lets clients write its hex in capitals), read as the ledger writes it, in lower case. */
export const CaseId = z.uuid({ error: 'must be a case id (UUID)' }).transform((id) => id.toLowerCase());
const ON_CASE = { id: CaseId };
type OnCase = typeof ON_CASE;

/** A case command on the CommandBus: who sends it, on which case, with what input. Data, never a function. */
export abstract class CaseCommand<I> {
  constructor(
    readonly origin: CommandOrigin,
    /** Absent for a referral: the decision creates the case. */
    readonly caseId: string | undefined,
    readonly input: I,
  ) {}
}

export interface CaseCommandSpec<B extends z.ZodType, P extends ParamShape, I> {
  /** The command's class name on the bus, e.g. `RecordConsent`. */
  readonly name: string;
  /** Method POST; path under /v1; params besides the case id `:id` (which every case command but a referral has). */
  readonly route: Omit<CommandRoute<P>, 'method' | 'params' | 'status'> & { readonly params?: P };
  readonly body: B;
  /** The decision's input from the body and the path parameters; the body itself when absent. */
  readonly input?: (body: z.output<B>, params: ParamValues<P>) => I;
  /** decide: pure, see decision.ts. */
  readonly decide: CaseDecision<I>;
  /** The fields the 201 adds to `{ caseId, revision, position }`, read from the events the command made. */
  readonly answer?: (events: readonly CaseEvent[]) => AnswerFields;
  /** The command opens a new case (a referral): no `:id`, and the answer names the case in `Location`. */
  readonly opensCase?: boolean;
}

export interface CaseBehaviour<B extends z.ZodType = z.ZodType, P extends ParamShape = ParamShape, I = unknown> extends Behaviour<B, P & OnCase, CommandAccepted> {
  readonly decide: CaseDecision<I>;
  /** The command class the route puts on the bus. */
  readonly Command: new (origin: CommandOrigin, caseId: string | undefined, input: I) => CaseCommand<I>;
  /** Its handler, registered with the CommandBus by its @CommandHandler metadata. */
  readonly Handler: Type<ICommandHandler>;
}

/**
 * Makes a case behaviour out of its spec: a command class of its own name, and a handler of
 * its own, discovered by `@CommandHandler`, that runs read → fold → decide → append through the
 * CaseLedger (case-ledger.ts) with this behaviour's decision, and shapes the 201 answer. The
 * behaviour files themselves stay free of any framework: only this file knows Nest.
 */
export function caseCommand<B extends z.ZodType, P extends ParamShape = Record<never, never>, I = z.output<B>>(spec: CaseCommandSpec<B, P, I>): CaseBehaviour<B, P, I> {
  const Command = { [spec.name]: class extends CaseCommand<I> {} }[spec.name]!;
  const toInput = spec.input ?? ((body: z.output<B>) => body as unknown as I);

  const Handler = {
    [`${spec.name}Handler`]: class implements ICommandHandler<CaseCommand<I>, CommandAccepted> {
      constructor(private readonly ledger: CaseLedger) {}

      async execute(command: CaseCommand<I>): Promise<CommandAccepted> {
        const { origin } = command;
        const result = await this.ledger.execute({ ...origin, caseId: command.caseId, decision: spec.decide, input: command.input });
        return accepted(result, spec.answer);
      }
    },
  }[`${spec.name}Handler`]!;
  Injectable()(Handler);
  Inject(CaseLedger)(Handler, undefined, 0);
  CommandHandler(Command)(Handler);

  const params = (spec.opensCase ? { ...spec.route.params } : { ...ON_CASE, ...spec.route.params }) as P & OnCase;
  return {
    name: spec.name,
    route: { ...spec.route, method: 'POST', params },
    body: spec.body,
    answer: CommandAccepted,
    decide: spec.decide,
    Command,
    Handler,
    command: (origin, values, body) => new Command(origin, spec.opensCase ? undefined : (values as ParamValues<OnCase>).id, toInput(body, values)),
    ...(spec.opensCase ? { headers: (answer: CommandAccepted) => ({ location: `/v1/cases/${answer.caseId}` }), sends: ['Location' as const] } : {}),
  };
}

function accepted(result: CaseCommandResult, answer: CaseCommandSpec<z.ZodType, ParamShape, unknown>['answer']): CommandAccepted {
  return {
    caseId: result.caseId,
    revision: Number(result.revision),
    position: Number(result.position.commit),
    ...answer?.(result.events as readonly CaseEvent[]),
  };
}
