import { type CanActivate, createParamDecorator, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor, Role } from '../access/actor';
import type { Caller } from '../access/caller';
import type { TokenVerifier } from '../access/tokens';
import { Forbidden, Unauthenticated } from '../errors';
import { partyOf } from '../../events';
import { CaseId } from '../case/case-command';
import { ProtocolLedger } from '../protocol/protocol-ledger';
import { Disclosures, type TrailAction } from '../reads/disclosures';
import { TOKEN_VERIFIER } from './injection-tokens';
import { limitSubject } from './rate-limits';
import { DISCLOSES, refusalContext } from './request-context';

const PUBLIC = 'ledger:public';
const ROLES = 'ledger:roles';
const ANY_AGENCY = 'ledger:any-agency';

/** A route anyone may call without a token (health, OpenAPI, docs). */
export const Public = () => SetMetadata(PUBLIC, true);

/** The roles that may call a route; a coordinator is also an operator (ENTITLEMENTS.md "Roles"). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

/** A request the guard let through carries its caller, made by the token verifier only. */
export type AuthenticatedRequest = FastifyRequest & { caller?: Caller };

function effectiveRoles(actor: Actor): Set<Role> {
  const roles = new Set(actor.roles);
  if (roles.has('coordinator')) roles.add('operator');
  return roles;
}

/**
 * A route any agency of the zone may call while the zone has no protocol (there are no parties
 * yet): signing the first one, whose decision checks that the signer is among its parties. Once a
 * protocol is in force, only its parties get past the guard, here as everywhere (ENTITLEMENTS.md
 * "Parties only": 403 on every request in that zone).
 */
export const AnyAgencyOfTheZone = () => SetMetadata(ANY_AGENCY, true);

/**
 * The global guard: deny by default. A route is reachable only if marked @Public() or if it
 * names its roles and the bearer token is valid (401), carries one of them (403) and speaks for
 * a party of the zone's protocol in force (403: ENTITLEMENTS.md "Parties only": an agency that
 * is not a party can do nothing in the zone, reads included).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TOKEN_VERIFIER) private readonly verify: TokenVerifier,
    @Inject(Disclosures) private readonly disclosures: Disclosures,
    @Inject(ProtocolLedger) private readonly protocols: ProtocolLedger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
    if (!match) throw new Unauthenticated();
    const caller = await this.verify(match[1]!);
    const actor = caller.actor;
    // Before anything is read or recorded: a token over its limit gets 429 and writes nothing.
    await limitSubject(actor, request, context.switchToHttp().getResponse<FastifyReply>());
    // Known before the role check, so that a refusal on a case is attributed on the access trail.
    request.caller = caller;
    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
    const roles = effectiveRoles(actor);
    if (!allowed || !allowed.some((role) => roles.has(role))) await this.refuse(context, request, `this needs the role ${allowed?.join(' or ') ?? '(none declared)'}`);
    const current = await this.protocols.current(actor.zone);
    const beforeTheFirst = current === undefined && this.reflector.getAllAndOverride<boolean>(ANY_AGENCY, targets);
    if (!beforeTheFirst && !partyOf(current, actor.agency)) await this.refuse(context, request, 'the agency is not a party of the zone protocol');
    return true;
  }

  /**
   * A refused attempt on a case goes on the access trail before the 403 leaves (ENTITLEMENTS.md);
   * the case id is recorded only if it is one (a path may hold anything, a fiscal code included),
   * and an X-Purpose that is not valid is no reason to skip the record nor to answer 400 instead.
   */
  private async refuse(context: ExecutionContext, request: AuthenticatedRequest, message: string): Promise<never> {
    const action = this.reflector.get<TrailAction | undefined>(DISCLOSES, context.getHandler());
    if (action) {
      // Read as the routes read it (CaseId: a UUID, in lower case), so that an id in capitals names the same case.
      const id = CaseId.safeParse((request.params as { id?: string } | undefined)?.id);
      const caseId = id.success ? id.data : '*';
      await this.disclosures.record(request.caller!.actor, action, [{ caseId, outcome: 'forbidden' }], refusalContext(request));
    }
    throw new Forbidden(message);
  }
}

/** The authenticated caller; only the guard sets it, from the token. */
export const CurrentCaller = createParamDecorator((_: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  if (!caller) throw new Unauthenticated();
  return caller;
});
