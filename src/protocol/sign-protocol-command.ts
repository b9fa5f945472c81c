import { Injectable } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Position } from '../../events/event-store';
import type { ZoneProtocol } from '../../events';
import { ProtocolLedger, type SignProtocolRequest } from './protocol-ledger';

export class SignProtocolCommand extends Command<{ protocol: ZoneProtocol; position: Position }> {
  constructor(readonly request: SignProtocolRequest) {
    super();
  }
}

@Injectable()
@CommandHandler(SignProtocolCommand)
export class SignProtocolCommandHandler implements ICommandHandler<SignProtocolCommand> {
  constructor(private readonly protocols: ProtocolLedger) {}

  execute(command: SignProtocolCommand) {
    return this.protocols.sign(command.request);
  }
}
