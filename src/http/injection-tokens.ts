/** Nest injection tokens for what is not a class. */
export const TOKEN_VERIFIER = Symbol('TokenVerifier');
export const READINESS_CHECKS = Symbol('ReadinessChecks');

/** Where Idempotency-Keys are reserved (src/idempotency/shared-reservations.ts). */
export const KEY_RESERVATIONS = Symbol('KEY_RESERVATIONS');
