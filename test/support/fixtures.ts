import type { Actor, Role } from '../../src/actor';
import { evolveProtocol, type ZoneProtocol } from '../../src/protocol/protocol';
import { signProtocol, SignProtocolBody } from '../../src/protocol/sign-protocol';

/** The Valdinievole parties the source documents name (seeds 001, 003), as used across tests. */
export const AGENCIES = {
  sds: 'sds-valdinievole',
  cpi: 'arti-cpi-pescia',
  serd: 'serd-valdinievole',
  mentalHealth: 'ufsma-valdinievole',
  uepe: 'uepe-pistoia',
  ets: 'caritas-pescia',
  coordination: 'cabina-regia-valdinievole',
} as const;

export const ZONE = 'valdinievole';

export const PROTOCOL_TERMS = SignProtocolBody.parse({
  title: 'Protocollo SILL Valdinievole',
  validFrom: '2025-02-05',
  validUntil: '2030-02-04',
  parties: [
    { agency: AGENCIES.sds, name: 'Società della Salute della Valdinievole', kind: 'social-services', minimalEquipe: true },
    { agency: AGENCIES.cpi, name: 'ARTI – Centro per l’Impiego di Pescia', kind: 'employment-centre', minimalEquipe: true },
    { agency: AGENCIES.serd, name: 'SerD Valdinievole (Azienda USL Toscana Centro)', kind: 'addiction-services' },
    { agency: AGENCIES.mentalHealth, name: 'UFSMA Valdinievole', kind: 'mental-health' },
    { agency: AGENCIES.uepe, name: 'UEPE Pistoia', kind: 'probation' },
    { agency: AGENCIES.ets, name: 'Caritas diocesana di Pescia', kind: 'third-sector' },
    { agency: AGENCIES.coordination, name: 'Cabina di regia SILL', kind: 'coordination' },
  ],
});

export function protocolFixture(terms = PROTOCOL_TERMS): ZoneProtocol {
  const event = signProtocol(undefined, terms, { agency: AGENCIES.sds });
  return evolveProtocol(undefined, event, 0n);
}

export function actor(agency: string, roles: Role[] = ['operator'], operator = `op-${agency.split('-')[0]}`): Actor {
  return { zone: ZONE, agency, operator, roles };
}

export const NOW = new Date('2025-06-02T09:00:00.000Z');

export const PERSON = { fiscalCode: 'RSSMRA85T10A562S', givenName: 'Mario', familyName: 'Rossi', birthDate: '1985-12-10' };
