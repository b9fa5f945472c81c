export { dateInItaly, evolveProtocol, inForce, partyOf, protocolStream, type ZoneProtocol } from '../../events';
