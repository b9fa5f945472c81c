/** Nest injection tokens for what is not a class. */
export const CLOCK = Symbol('Clock');
export const TOKEN_VERIFIER = Symbol('TokenVerifier');
export const READINESS_CHECKS = Symbol('ReadinessChecks');
export const EVENT_STORE = Symbol('EventStore');
export const AGENCY_VIEWS = Symbol('AgencyViews');
export const READ_BARRIER = Symbol('ReadBarrier');
export const DISCLOSURES = Symbol('Disclosures');
export const READ_MODELS = Symbol('ReadModels');
