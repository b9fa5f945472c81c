/** The entitlement policy (ENTITLEMENTS.md) as one pure module: no framework, no store, no clock. */
export * from './case-facts';
export * from './case-history';
export * from './case-view';
export type { Disclosure } from './sight';
export * from './entitlements';
export * from './caller-knowledge';
