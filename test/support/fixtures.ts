import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Actor, Role } from '../../src/access/actor';
import { evolveProtocol, type ZoneProtocol } from '../../events';
import { decideSigning, SignProtocolBody } from '../../src/protocol/sign-protocol';

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

/** The example protocol of the repository (examples/valdinievole-protocol.json), as every test signs it. */
export const EXAMPLE_PROTOCOL = JSON.parse(readFileSync(join(__dirname, '../../examples/valdinievole-protocol.json'), 'utf8')) as { zone: string } & Record<string, unknown>;
const { zone: _zone, ...terms } = EXAMPLE_PROTOCOL;
export const PROTOCOL_TERMS = SignProtocolBody.parse(terms);

export function protocolFixture(terms = PROTOCOL_TERMS): ZoneProtocol {
  const [event] = decideSigning(undefined, terms, { agency: AGENCIES.sds }, '00000000-0000-4000-8000-00000000000a', '2025-06-01');
  return evolveProtocol(undefined, event!, 0n);
}

export function actor(agency: string, roles: Role[] = ['operator'], operator = `op-${agency.split('-')[0]}`): Actor {
  return { zone: ZONE, agency, operator, roles };
}

export const NOW = new Date('2025-06-02T09:00:00.000Z');

export const PERSON = { fiscalCode: 'RSSMRA85T10A562S', givenName: 'Mario', familyName: 'Rossi', birthDate: '1985-12-10' };
