/**
 * The one error module (ARCHITECTURE.md property 9). One table names every error the API can
 * answer: its stable code, its HTTP status and what it means. The error classes, the exception
 * filter (http/error-response.ts) and the OpenAPI error answers (http/routes.ts) are all made
 * from it, in the manner of fastify's lib/errors.js. Messages never carry personal data: only
 * codes, agency ids and revision numbers.
 */
export const ERRORS = {
  validation: { status: 400, description: 'the body, a parameter or a header is not valid (issues name each path)' },
  unauthenticated: { status: 401, description: 'missing, malformed, expired or wrongly signed token' },
  forbidden: { status: 403, description: 'the token lacks the role, or its agency is not a party of the zone protocol' },
  'not-found': { status: 404, description: 'no such resource for the caller (for a case: the same answer whether it exists or not)' },
  'precondition-failed': { status: 412, description: 'If-Match no longer matches the revision' },
  'payload-too-large': { status: 413, description: 'the body is over 256 KiB' },
  'unsupported-media-type': { status: 415, description: 'the body is not application/json, or comes compressed (Content-Encoding)' },
  'rule-violation': { status: 422, description: 'a domain rule refused the command (see `rule`)' },
  'rate-limited': { status: 429, description: 'too many requests from this token subject or this client address; Retry-After says when to try again' },
  internal: { status: 500, description: 'a fault of the service; logged, never detailed to the caller' },
  unavailable: { status: 503, description: 'the store could not be reached or the views are catching up; try again' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** The code an HTTP status stands for (for errors the framework raises with a status only). */
export function codeOfStatus(status: number): ErrorCode | undefined {
  if (status === 405) return 'not-found';
  return ERROR_CODES.find((code) => ERRORS[code].status === status);
}

/** Domain rules and what each protects; the code is stable, the API's `rule`. */
export const RULES = {
  'case-closed': 'only reopening is allowed on a closed case',
  'case-erased': "the case's person was erased: it takes no more commands",
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
  'consent-collected-later': 'the authorisation is dated after now: collectedAt is in the future',
  'already-member': 'the agency is already a full member of the case',
  'not-a-member-of-case': 'the agency is not on the case team',
  'minimal-equipe-fixed': 'agencies of the minimal team cannot be removed',
  'aggregates-only': 'coordination agencies see aggregates only and cannot be on a case',
  'protocol-party-required': 'the signing agency must be a party of the protocol it signs',
  'protocol-changed-alone':
    'a renewal that widens what a party receives, shortens retention or ends the protocol in force needs the approval of another party of both protocols, and there is none (ledger protocol apply proposes it to every party)',
  'idempotency-key-reused': 'the Idempotency-Key was used with another request',
  'not-entitled': "the command is about data the caller's agency may not see",
  'proposal-superseded': 'a later protocol proposal or renewal replaced this proposal',
  'not-awaited': 'the proposal does not await the approval of this agency',
} as const;
export type Rule = keyof typeof RULES;

export interface ValidationIssue {
  path: string;
  message: string;
}

/** API.md "Conventions": at most 20 issues in an answer. */
export const MAX_ISSUES = 20;

/** An error the API answers with its own code; anything else thrown is a 500 `internal`. */
export class LedgerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LedgerError';
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  /** What the caller reads: API.md "Conventions", the error body. */
  body(): { error: ErrorCode; message: string; issues?: ValidationIssue[]; rule?: Rule } {
    return { error: this.code, message: this.message };
  }
}

export class RuleViolation extends LedgerError {
  constructor(
    readonly rule: Rule,
    detail?: string,
  ) {
    super('rule-violation', detail ? `${RULES[rule]}: ${detail}` : RULES[rule]);
    this.name = 'RuleViolation';
  }

  override body() {
    return { ...super.body(), rule: this.rule };
  }
}

export class ValidationFailed extends LedgerError {
  constructor(
    readonly issues: ValidationIssue[],
    message = 'the request is not valid',
  ) {
    super('validation', message);
    this.name = 'ValidationFailed';
  }

  override body() {
    return { ...super.body(), issues: this.issues.slice(0, MAX_ISSUES) };
  }
}

/** A class per code, with the default message of that code. */
function errorClass(code: ErrorCode, name: string, defaultMessage: string) {
  const Class = class extends LedgerError {
    constructor(message = defaultMessage) {
      super(code, message);
      this.name = name;
    }
  };
  Object.defineProperty(Class, 'name', { value: name });
  return Class;
}

export const Unauthenticated = errorClass('unauthenticated', 'Unauthenticated', 'a valid bearer token is required');
export const Forbidden = errorClass('forbidden', 'Forbidden', 'the token does not allow this');
/** Also what a case that exists but not for the caller answers (ENTITLEMENTS.md). */
export const NotFound = errorClass('not-found', 'NotFound', 'not found');
export const PreconditionFailed = errorClass('precondition-failed', 'PreconditionFailed', 'the case has changed since the revision in If-Match');
export const PayloadTooLarge = errorClass('payload-too-large', 'PayloadTooLarge', 'the body is larger than 256 KiB');
export const UnsupportedMediaType = errorClass('unsupported-media-type', 'UnsupportedMediaType', 'send application/json');
/** 429: over a rate limit (per token subject or per client address); the answer carries Retry-After. */
export const RateLimited = errorClass('rate-limited', 'RateLimited', 'too many requests, try again later');
/** 503: the store is unreachable or the views are catching up; the caller may try again. */
export const Unavailable = errorClass('unavailable', 'Unavailable', 'the service is unavailable, try again');
