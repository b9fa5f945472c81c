import { z } from 'zod';

/** The `{n}` of /plan/revisions/{n}/…: a plan revision number (1, 2, …). */
export const PlanRevisionNumber = z.coerce.number({ error: 'must be a plan revision number' }).int('must be a plan revision number').min(1).max(1_000_000);
