import type { z } from 'zod';
import type { Actor, Role } from '../access/actor';

/*
 * A behaviour is one command the ledger accepts, described in one file (src/case/*.ts,
 * src/protocol/*.ts): its route, its body, the command object it puts on the CommandBus, and
 * the answer. src/http/command-routes.ts registers every behaviour as a route; the CommandBus
 * routes the command, by its class, to the handler that decides it. None of this imports HTTP.
 */

export type ParamShape = Record<string, z.ZodType>;
export type ParamValues<P extends ParamShape> = { [K in keyof P]: z.output<P[K]> };

/** How a behaviour is reached over HTTP (API.md), under /v1. */
export interface CommandRoute<P extends ParamShape = ParamShape> {
  readonly method: 'POST' | 'PUT';
  /** Under /v1, with `:name` for each path parameter, e.g. `cases/:id/consents`. */
  readonly path: string;
  readonly params: P;
  /** Who may send it; a coordinator is also an operator (ENTITLEMENTS.md "Roles"). */
  readonly roles: readonly Role[];
  readonly summary: string;
  readonly description?: string;
  /** 201 unless said. */
  readonly status?: 200 | 201;
  /**
   * Any agency of the zone may send it while the zone has no protocol (the global guard lets only
   * parties of the protocol in force through otherwise): signing a zone's first protocol.
   */
  readonly anyAgency?: boolean;
}

/** Who sends a command and how it is known again: from the token and the headers, never the body. */
export interface CommandOrigin {
  readonly actor: Actor;
  /** From the Idempotency-Key when there is one: everything the command creates derives from it. */
  readonly commandId: string;
  /** The request id of the logs. */
  readonly correlationId: string;
  /** From If-Match: the revision the caller last saw; a mismatch is 412. */
  readonly ifMatch?: bigint;
}

export interface Behaviour<B extends z.ZodType = z.ZodType, P extends ParamShape = ParamShape, A = unknown> {
  /** The command's name: its class's name on the CommandBus, and the route's operation id. */
  readonly name: string;
  readonly route: CommandRoute<P>;
  readonly body: B;
  /** The schema of the route's 2xx answer (published in /openapi.json). */
  readonly answer: z.ZodType;
  /** Other 2xx answers the behaviour may give (a proposal left waiting: 202). */
  readonly otherAnswers?: ReadonlyArray<{ readonly status: number; readonly schema: z.ZodType; readonly description: string }>;
  /** The command object the route puts on the CommandBus. */
  command(origin: CommandOrigin, params: ParamValues<P>, body: z.output<B>): object;
  /** The status of a 2xx answer when it depends on the answer (a protocol in force 200, a proposal 202); else the route's. */
  statusOf?(answer: A): number;
  /** Headers the answer carries (the Location of a new case, the ETag of a protocol). */
  headers?(answer: A): Record<string, string>;
  /** The names of those headers, for the OpenAPI document. */
  readonly sends?: ReadonlyArray<'Location' | 'ETag'>;
}
