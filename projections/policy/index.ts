/** The entitlement policy (ENTITLEMENTS.md) as one pure module: no framework, no store, no clock. */
export * from './case-facts';
export * from './case-view';
export * from './entitlements';
