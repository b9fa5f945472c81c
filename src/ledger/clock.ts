/** Time is passed in, never read inside decisions, so tests can inject it (consent expiry, protocol validity). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The Nest injection token of the clock. */
export const CLOCK = Symbol('Clock');
