/** Nest injection tokens for what is not a class. */
export const TOKEN_VERIFIER = Symbol('TokenVerifier');
export const READINESS_CHECKS = Symbol('ReadinessChecks');
