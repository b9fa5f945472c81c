import { z } from 'zod';
import { AgencyId, AgencyKind, Category, inForce, ZoneId, type ZoneProtocol } from '../../events';

/** The zone's protocol as its parties read it (API.md "Protocol"): the answer of PUT and GET /v1/protocol. */
export const ProtocolView = z.object({
  zone: ZoneId,
  version: z.int().min(1),
  revision: z.int().min(0),
  inForce: z.boolean(),
  title: z.string(),
  validFrom: z.iso.date(),
  validUntil: z.iso.date(),
  consentRequired: z.array(Category),
  retentionYearsAfterClosure: z.int(),
  parties: z.array(z.object({ agency: AgencyId, name: z.string(), kind: AgencyKind, minimalEquipe: z.boolean(), receivable: z.array(Category) })),
});
export type ProtocolView = z.infer<typeof ProtocolView>;

export function protocolView(zone: string, protocol: ZoneProtocol, now: Date): ProtocolView {
  return { zone, revision: Number(protocol.revision), inForce: inForce(protocol, now), ...protocol.current };
}
