/**
 * The one error module (ARCHITECTURE.md property 9). Domain code throws these; one exception
 * filter (http/error-filter.ts) maps them, and every other failure, to the error bodies of
 * API.md. Messages never carry personal data: only codes, agency ids and revision numbers.
 */

/** Domain rules and what each protects; the code is stable, the API's `rule`. */
export const RULES = {
  'case-closed': 'only reopening is allowed on a closed case',
  'case-not-closed': 'only a closed case can be reopened',
  'not-a-party': 'the agency is not a party of the zone protocol',
  'not-a-member': "the caller's agency is not a full member of the case",
  'protocol-not-in-force': 'the zone has no protocol in force today',
  'plan-before-taking-in-charge': 'a plan needs the case to be taken in charge first',
  'already-in-charge': 'the case is already taken in charge',
  'unknown-plan-revision': 'no such plan revision',
  'validation-before-agreement': 'a plan revision is validated only after the person agreed to it',
  'plan-revision-already-agreed': 'the person already agreed to this plan revision',
  'plan-revision-already-validated': 'this plan revision is already validated',
  'unknown-objective': 'the objective is not in that plan revision',
  'closure-needs-outcome': 'a case is closed only after an outcome is recorded',
  'unknown-consent': 'no such authorisation on this case',
  'consent-already-withdrawn': 'the authorisation is already withdrawn',
  'consent-expired': 'the authorisation has expired',
  'consent-not-yet-expired': 'the authorisation is still valid',
  'already-member': 'the agency is already a full member of the case',
  'not-a-member-of-case': 'the agency is not on the case team',
  'minimal-equipe-fixed': 'agencies of the minimal team cannot be removed',
  'aggregates-only': 'coordination agencies see aggregates only and cannot be on a case',
  'protocol-party-required': 'the signing agency must be a party of the protocol it signs',
  'idempotency-key-reused': 'the Idempotency-Key was used with another request',
} as const;
export type Rule = keyof typeof RULES;

export class RuleViolation extends Error {
  constructor(
    readonly rule: Rule,
    detail?: string,
  ) {
    super(detail ? `${RULES[rule]}: ${detail}` : RULES[rule]);
    this.name = 'RuleViolation';
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export class ValidationFailed extends Error {
  constructor(
    readonly issues: ValidationIssue[],
    message = 'the request is not valid',
  ) {
    super(message);
    this.name = 'ValidationFailed';
  }
}

export class Unauthenticated extends Error {
  constructor(message = 'a valid bearer token is required') {
    super(message);
    this.name = 'Unauthenticated';
  }
}

export class Forbidden extends Error {
  constructor(message = 'the token does not allow this') {
    super(message);
    this.name = 'Forbidden';
  }
}

/** Also what a case that exists but not for the caller answers (ENTITLEMENTS.md). */
export class NotFound extends Error {
  constructor(message = 'not found') {
    super(message);
    this.name = 'NotFound';
  }
}

export class PreconditionFailed extends Error {
  constructor(message = 'the case has changed since the revision in If-Match') {
    super(message);
    this.name = 'PreconditionFailed';
  }
}

export class Unavailable extends Error {
  constructor(message = 'the service is unavailable, try again') {
    super(message);
    this.name = 'Unavailable';
  }
}
