import { evolveProtocol, type ProtocolEvent, type ZoneProtocol } from '../../events';
import { decideApproval } from '../../src/protocol/approve-proposal';
import { decideSigning, SignProtocolBody } from '../../src/protocol/sign-protocol';
import { AGENCIES, PROTOCOL_TERMS, protocolFixture } from '../support/fixtures';

const PROPOSAL = '00000000-0000-4000-8000-0000000000aa';
/** The day renewals are signed on here, within the fixture protocol's validity (2025-02-05 to 2030-02-04). */
const TODAY = '2026-01-15';
const parties = PROTOCOL_TERMS.parties.map((p) => p.agency);

function fold(protocol: ZoneProtocol, events: ProtocolEvent[], author: string): ZoneProtocol {
  return events.reduce((p, e, i) => evolveProtocol(p, e, p.revision + BigInt(i + 1), author), protocol);
}

const withParty = (agency: string, change: Partial<SignProtocolBody['parties'][number]>): SignProtocolBody => ({
  ...PROTOCOL_TERMS,
  parties: PROTOCOL_TERMS.parties.map((p) => (p.agency === agency ? { ...p, ...change } : p)),
});

describe('signing and renewing the zone protocol', () => {
  it('puts the first protocol of a zone in force once signed', () => {
    expect(decideSigning(undefined, PROTOCOL_TERMS, { agency: AGENCIES.sds }, PROPOSAL, TODAY).map((e) => e.type)).toEqual(['ProtocolSigned']);
  });

  it('puts a renewal that widens nothing in force at once, a narrowing included', () => {
    const narrowed = withParty(AGENCIES.serd, { receivable: ['common'] });
    const [event] = decideSigning(protocolFixture(), narrowed, { agency: AGENCIES.sds }, PROPOSAL, TODAY);
    expect(event).toMatchObject({ type: 'ProtocolRenewed', data: { version: 2 } });
  });

  it.each([
    ['a wider receivable', withParty(AGENCIES.cpi, { receivable: ['common', 'health'] })],
    ['a party newly in the minimal team', withParty(AGENCIES.serd, { minimalEquipe: true })],
    ['a smaller consentRequired', { ...PROTOCOL_TERMS, consentRequired: ['special', 'judicial'] as SignProtocolBody['consentRequired'] }],
    ['a new party', { ...PROTOCOL_TERMS, parties: [...PROTOCOL_TERMS.parties, { agency: 'comune-di-pescia', name: 'Comune', kind: 'housing' as const, minimalEquipe: false }] }],
    // SerD's receivable kept as it was: its kind alone changes, and with it the category of every
    // reference to SerD (addiction services → health; housing → common, which the CPI receives).
    [
      'another kind for a party',
      withParty(AGENCIES.serd, { kind: 'housing', receivable: [...protocolFixture().current.parties.find((p) => p.agency === AGENCIES.serd)!.receivable] }),
    ],
  ])('makes a proposal of %s, awaiting every other party in both protocols', (_what, terms) => {
    const [event] = decideSigning(protocolFixture(), terms, { agency: AGENCIES.cpi }, PROPOSAL, TODAY);
    expect(event).toEqual({ type: 'ProtocolRenewalProposed', data: { proposalId: PROPOSAL, terms: expect.any(Object), awaiting: parties.filter((a) => a !== AGENCIES.cpi) } });
  });

  it('refuses a widening that no other party of both protocols could approve: no single agency widens its own access', () => {
    // The CPI drops every other party (a narrowing: in force at once, as ENTITLEMENTS.md says)…
    const alone = { ...PROTOCOL_TERMS, parties: PROTOCOL_TERMS.parties.filter((p) => p.agency === AGENCIES.cpi) };
    const [narrowing] = decideSigning(protocolFixture(), alone, { agency: AGENCIES.cpi }, PROPOSAL, TODAY);
    expect(narrowing!.type).toBe('ProtocolRenewed');
    const cpiAlone = fold(protocolFixture(), [narrowing!], AGENCIES.cpi);
    // …then adds them back with more for itself: with no one else in both, that is refused.
    const back = withParty(AGENCIES.cpi, { receivable: ['common', 'special', 'health', 'judicial'] });
    expect(() => decideSigning(cpiAlone, back, { agency: AGENCIES.cpi }, PROPOSAL, TODAY)).toThrow(expect.objectContaining({ rule: 'protocol-changed-alone' }));
    expect(() => decideSigning(cpiAlone, PROTOCOL_TERMS, { agency: AGENCIES.cpi }, PROPOSAL, TODAY)).toThrow(expect.objectContaining({ rule: 'protocol-changed-alone' }));
    // The service's own proposal awaits the parties in both (here the CPI).
    const [proposal] = decideSigning(cpiAlone, PROTOCOL_TERMS, { agency: 'ledger' }, PROPOSAL, TODAY);
    expect(proposal).toMatchObject({ type: 'ProtocolRenewalProposed', data: { awaiting: [AGENCIES.cpi] } });
  });

  it.each([
    ["a shorter retention (the daily job would destroy other controllers' records for good)", { ...PROTOCOL_TERMS, retentionYearsAfterClosure: 1 }],
    ['a validity that ends the protocol in force today', { ...PROTOCOL_TERMS, validUntil: '2026-01-14' }],
    ['a validity that begins after today', { ...PROTOCOL_TERMS, validFrom: '2026-01-16' }],
    ['a validity that ends sooner, even if not today (it would lapse at midnight)', { ...PROTOCOL_TERMS, validUntil: TODAY }],
  ])('makes a proposal of %s, though it widens nothing, and refuses it where no other party could approve', (_what, terms) => {
    const [event] = decideSigning(protocolFixture(), terms, { agency: AGENCIES.cpi }, PROPOSAL, TODAY);
    expect(event).toMatchObject({ type: 'ProtocolRenewalProposed', data: { awaiting: parties.filter((a) => a !== AGENCIES.cpi) } });
    const alone = fold(
      protocolFixture(),
      decideSigning(protocolFixture(), { ...PROTOCOL_TERMS, parties: PROTOCOL_TERMS.parties.filter((p) => p.agency === AGENCIES.cpi) }, { agency: AGENCIES.cpi }, PROPOSAL, TODAY),
      AGENCIES.cpi,
    );
    expect(() => decideSigning(alone, { ...terms, parties: alone.current.parties }, { agency: AGENCIES.cpi }, PROPOSAL, TODAY)).toThrow(
      expect.objectContaining({ rule: 'protocol-changed-alone' }),
    );
  });

  it('puts a longer retention and a renewal of the window that keeps today in force at once', () => {
    for (const terms of [
      { ...PROTOCOL_TERMS, retentionYearsAfterClosure: 20 },
      // An ordinary renewal: from today, for longer.
      { ...PROTOCOL_TERMS, validFrom: TODAY, validUntil: '2033-02-04' },
    ]) {
      expect(decideSigning(protocolFixture(), terms, { agency: AGENCIES.cpi }, PROPOSAL, TODAY)[0]!.type).toBe('ProtocolRenewed');
    }
  });

  it('awaits every party when the service itself proposes (ledger protocol apply)', () => {
    const [event] = decideSigning(protocolFixture(), withParty(AGENCIES.cpi, { receivable: ['common', 'health'] }), { agency: 'ledger' }, PROPOSAL, TODAY);
    expect((event!.data as { awaiting: string[] }).awaiting).toEqual(parties);
  });
});

describe('approving a protocol proposal', () => {
  const widening = withParty(AGENCIES.cpi, { receivable: ['common', 'health'] });
  const proposed = () => fold(protocolFixture(), decideSigning(protocolFixture(), widening, { agency: AGENCIES.cpi }, PROPOSAL, TODAY), AGENCIES.cpi);

  it('changes nothing in force while a proposal waits', () => {
    expect(proposed().current).toEqual(protocolFixture().current);
    expect(proposed().pending?.awaiting.size).toBe(parties.length - 1);
  });

  it("changes no agency's kind while a proposal waits, and changes it once the proposal is in force", () => {
    const serd = protocolFixture().current.parties.find((p) => p.agency === AGENCIES.serd)!;
    const rekinded = withParty(AGENCIES.serd, { kind: 'housing', receivable: [...serd.receivable] });
    let protocol = fold(protocolFixture(), decideSigning(protocolFixture(), rekinded, { agency: AGENCIES.cpi }, PROPOSAL, TODAY), AGENCIES.cpi);
    expect(protocol.pending).toBeDefined();
    expect(protocol.kinds.get(AGENCIES.serd)).toBe(serd.kind);
    for (const agency of parties.filter((a) => a !== AGENCIES.cpi)) protocol = fold(protocol, decideApproval(protocol, PROPOSAL, agency), agency);
    expect(protocol.pending).toBeUndefined();
    expect(protocol.kinds.get(AGENCIES.serd)).toBe('housing');
  });

  it('counts each awaited approval once, and puts the proposal in force with the last', () => {
    let protocol = proposed();
    const others = parties.filter((a) => a !== AGENCIES.cpi);
    for (const agency of others) {
      const events = decideApproval(protocol, PROPOSAL, agency);
      const last = agency === others[others.length - 1];
      expect(events.map((e) => e.type)).toEqual(last ? ['ProtocolProposalApproved', 'ProtocolRenewed'] : ['ProtocolProposalApproved']);
      protocol = fold(protocol, events, agency);
      if (!last) expect(() => decideApproval(protocol, PROPOSAL, agency)).toThrow(expect.objectContaining({ rule: 'not-awaited' }));
    }
    expect(protocol.current.version).toBe(2);
    expect(protocol.current.parties.find((p) => p.agency === AGENCIES.cpi)?.receivable).toEqual(['common', 'health']);
    expect(protocol.pending).toBeUndefined();
  });

  it('refuses a superseded proposal, and answers not found for an unknown one', () => {
    const renewed = fold(proposed(), decideSigning(proposed(), PROTOCOL_TERMS, { agency: AGENCIES.sds }, 'ffffffff-0000-4000-8000-000000000000', TODAY), AGENCIES.sds);
    expect(() => decideApproval(renewed, PROPOSAL, AGENCIES.sds)).toThrow(expect.objectContaining({ rule: 'proposal-superseded' }));
    expect(() => decideApproval(protocolFixture(), PROPOSAL, AGENCIES.sds)).toThrow(expect.objectContaining({ name: 'NotFound' }));
  });

  it('refuses as a party the names the service writes itself: the system agency, and the undisclosed reader of a DPO trail', () => {
    for (const agency of ['ledger', 'undisclosed']) {
      const terms = { ...PROTOCOL_TERMS, parties: [...PROTOCOL_TERMS.parties, { ...PROTOCOL_TERMS.parties[0]!, agency }] };
      const parsed = SignProtocolBody.safeParse(terms);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues).toEqual([expect.objectContaining({ path: ['parties', PROTOCOL_TERMS.parties.length, 'agency'], message: `"${agency}" is reserved` })]);
    }
  });

  it("refuses control characters and bidirectional overrides in a protocol's title and its parties' names (what approvers read)", () => {
    for (const terms of [
      { ...PROTOCOL_TERMS, title: 'Protocollo\u0007' },
      { ...PROTOCOL_TERMS, title: 'Protocollo \u202eenogav' },
      { ...PROTOCOL_TERMS, parties: PROTOCOL_TERMS.parties.map((p, i) => (i === 0 ? { ...p, name: 'SdS\u0000' } : p)) },
      { ...PROTOCOL_TERMS, parties: PROTOCOL_TERMS.parties.map((p, i) => (i === 0 ? { ...p, name: 'SdS\nValdinievole' } : p)) },
    ]) {
      expect(SignProtocolBody.safeParse(terms).success).toBe(false);
    }
    expect(SignProtocolBody.safeParse({ ...PROTOCOL_TERMS, title: 'Protocollo d’intesa — Società della Salute' }).success).toBe(true);
  });
});
