import { Injectable } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CaseLedger, type CaseCommandRequest, type CaseCommandResult } from './case-ledger';

/** A case command on its way through the CommandBus: which decision, on which case, by whom. */
export class RunCaseCommand<I = unknown> extends Command<CaseCommandResult> {
  constructor(readonly request: CaseCommandRequest<I>) {
    super();
  }
}

/** read, fold, decide, append: CaseLedger does it with the decision the command names. */
@Injectable()
@CommandHandler(RunCaseCommand)
export class RunCaseCommandHandler implements ICommandHandler<RunCaseCommand> {
  constructor(private readonly ledger: CaseLedger) {}

  execute(command: RunCaseCommand): Promise<CaseCommandResult> {
    return this.ledger.execute(command.request);
  }
}
