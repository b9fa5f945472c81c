export * from '../../projections/policy/case-state';
export { existsFor, isFullMember } from '../../projections/policy/membership';
