import { z } from 'zod';
import { AgencyId, OperatorId, ZoneId } from '../../events';

export const ROLES = ['operator', 'coordinator', 'dpo', 'auditor', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** Who is calling, from the token only (API.md "Conventions"; STYLE.md habit 9). */
export interface Actor {
  readonly zone: string;
  readonly agency: string;
  readonly operator: string;
  readonly roles: readonly Role[];
}

export const ActorClaims = z.object({
  sub: OperatorId,
  zone: ZoneId,
  agency: AgencyId,
  roles: z.array(Role).min(1),
  exp: z.number(),
});
