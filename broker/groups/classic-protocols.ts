/**
 * Protocol rules of classic groups. A joining member must share the group's protocol type and support at least one
 * protocol every other member supports. The group's protocol is chosen among the candidates all members support:
 * each member votes for its most preferred candidate; most votes win, ties going to the earlier candidate in the
 * leader's order of preference.
 */
import type { ClassicMember, GroupProtocol } from './classic-member.js';

export function supportsProtocols(
  members: Iterable<ClassicMember>,
  groupProtocolType: string | null,
  protocolType: string,
  protocols: readonly GroupProtocol[],
  memberId: string,
): boolean {
  if (protocolType === '' || protocols.length === 0) return false;
  const others = [...members].filter((m) => m.memberId !== memberId);
  if (others.length === 0) return true;
  if (protocolType !== groupProtocolType) return false;
  return protocols.some((p) => others.every((m) => m.supports(p.name)));
}

export function selectProtocol(members: readonly ClassicMember[], leaderId: string | null): string {
  const leader = members.find((m) => m.memberId === leaderId) ?? members[0];
  const candidates = leader.protocols.map((p) => p.name).filter((name) => members.every((m) => m.supports(name)));
  const candidateSet = new Set(candidates);
  const votes = new Map<string, number>();
  for (const m of members) {
    const v = m.vote(candidateSet);
    if (v !== undefined) votes.set(v, (votes.get(v) ?? 0) + 1);
  }
  let best = candidates[0];
  for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
  return best;
}
