import type { z } from 'zod';
import type { CaseDecision } from '../../src/case/decision';

/** A behaviour as tests drive it: its body schema and its decision. */
export interface Decides<B extends z.ZodType, I> {
  readonly body: B;
  readonly decide: CaseDecision<I>;
}

/** What a test sends a behaviour: the body as a client would (defaults may be left out), plus the path's values under their input names. */
export type SentInput<B extends z.ZodType, I> = z.input<B> & Omit<I, keyof z.output<B>>;

/**
 * The decision and its input as the route gives them: the body part parsed by the behaviour's
 * own schema (so defaults are filled exactly as over HTTP), the path's values beside it.
 */
export function routedInput<B extends z.ZodType, I>(behaviour: Decides<B, I>, sent: SentInput<B, I>): I {
  const shape = (behaviour.body as unknown as { shape: Record<string, unknown> }).shape;
  const body: Record<string, unknown> = {};
  const path: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(sent as Record<string, unknown>)) (key in shape ? body : path)[key] = value;
  return { ...(behaviour.body.parse(body) as object), ...path } as I;
}
