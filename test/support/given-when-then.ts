import type { CaseEvent } from '../../events';
import { type CaseState, EMPTY_CASE, evolve } from '../../events';
import type { CaseDecision, DecisionContext } from '../../src/case/decision';
import { NotFound, type Rule, RuleViolation } from '../../src/errors';
import { CommandIds } from '../../src/ledger/command-ids';
import type { ZoneProtocol } from '../../events';
import type { z } from 'zod';
import { type Decides, routedInput, type SentInput } from './decide';
import { actor as makeActor, AGENCIES, NOW, protocolFixture } from './fixtures';

import { agencyCaseHistory, agencyCaseView, caseFacts } from '../../projections/policy';
import { CASE_ID, type Given } from './builders';
import { history } from './ledger-history';

type Outcome = { events: CaseEvent[] } | { error: unknown };

/**
 * The given / when / then vocabulary of decider specs: given a history, when a command is
 * decided by an actor, then these events, or this rule, or not found.
 */
export function given(...events: Given[]) {
  const state = events.reduce<CaseState>((s, e) => evolve(s, { type: e.type, data: e.data } as CaseEvent, { agency: e.by ?? AGENCIES.sds }), EMPTY_CASE);
  return {
    state,
    /** What an agency is shown of the case made of these events: its view, list entry and history (the policy). */
    seenBy(agency: string, options: { protocol?: ZoneProtocol } = {}) {
      const facts = caseFacts(CASE_ID, history(...events), options.protocol ?? protocolFixture());
      const view = agencyCaseView(facts, agency);
      return view && { ...view, history: agencyCaseHistory(facts, agency)!.items };
    },
    when<B extends z.ZodType, I>(
      behaviour: Decides<B, I>,
      sent: SentInput<B, I>,
      options: { by?: string; roles?: Parameters<typeof makeActor>[1]; now?: Date; protocol?: ZoneProtocol | null } = {},
    ) {
      const decision: CaseDecision<I> = behaviour.decide;
      const input = routedInput(behaviour, sent);
      const ctx: DecisionContext = {
        actor: makeActor(options.by ?? AGENCIES.sds, options.roles ?? ['operator', 'coordinator']),
        now: options.now ?? NOW,
        protocol: options.protocol === null ? undefined : (options.protocol ?? protocolFixture()),
        ids: new CommandIds('00000000-0000-4000-8000-000000000001'),
      };
      let outcome: Outcome;
      try {
        outcome = { events: decision(state, input, ctx) };
      } catch (error) {
        outcome = { error };
      }
      return {
        then(expected: CaseEvent[] | ((events: CaseEvent[]) => void)) {
          if ('error' in outcome) throw outcome.error;
          if (typeof expected === 'function') expected(outcome.events);
          else expect(outcome.events).toEqual(expected);
        },
        thenRule(rule: Rule) {
          if (!('error' in outcome)) throw new Error(`expected rule ${rule}, got events ${JSON.stringify(outcome.events)}`);
          expect(outcome.error).toBeInstanceOf(RuleViolation);
          expect((outcome.error as RuleViolation).rule).toBe(rule);
        },
        thenNotFound() {
          if (!('error' in outcome)) throw new Error(`expected not found, got events ${JSON.stringify(outcome.events)}`);
          expect(outcome.error).toBeInstanceOf(NotFound);
        },
      };
    },
  };
}
