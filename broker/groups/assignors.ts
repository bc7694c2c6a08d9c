/**
 * Server-side partition assignors for KIP-848 consumer groups.
 * - uniform (the default): spreads every subscribed partition over the members subscribed to its topic so that
 *   loads differ by at most one for identical subscriptions; sticky: a member keeps what it owns up to its fair
 *   share, and only the rest moves (to the least-loaded eligible member, ties by member id).
 * - range: per topic, the subscribed members sorted by id get contiguous ranges, the first (partitions % members)
 *   one partition more (co-partitioned topics land together), as Kafka's range assignor.
 */

/** topic id -> partitions */
export type Assignment = Map<string, Set<number>>;

export interface AssignorMember {
  memberId: string;
  /** Subscribed topic ids. */
  topics: ReadonlySet<string>;
  current: Assignment;
}

export interface Assignor {
  readonly name: string;
  assign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Map<string, Assignment>;
}

function add(a: Assignment, topicId: string, partition: number): void {
  let s = a.get(topicId);
  if (!s) {
    s = new Set();
    a.set(topicId, s);
  }
  s.add(partition);
}

export const uniformAssignor: Assignor = {
  name: 'uniform',
  assign(members, partitionCounts) {
    const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
    const out = new Map<string, Assignment>(sorted.map((m) => [m.memberId, new Map()]));
    const load = new Map<string, number>(sorted.map((m) => [m.memberId, 0]));
    const topics = [...partitionCounts.keys()].filter((t) => sorted.some((m) => m.topics.has(t))).sort();
    let total = 0;
    for (const t of topics) total += partitionCounts.get(t)!;
    const fairShare = sorted.length === 0 ? 0 : Math.floor(total / sorted.length);
    const taken = new Set<string>();
    // Stickiness: keep owned partitions up to the fair share.
    for (const m of sorted) {
      for (const [t, parts] of m.current) {
        if (!m.topics.has(t) || !partitionCounts.has(t)) continue;
        for (const p of [...parts].sort((a, b) => a - b)) {
          if (p >= partitionCounts.get(t)! || taken.has(`${t}:${p}`) || load.get(m.memberId)! >= fairShare) continue;
          add(out.get(m.memberId)!, t, p);
          taken.add(`${t}:${p}`);
          load.set(m.memberId, load.get(m.memberId)! + 1);
        }
      }
    }
    for (const t of topics) {
      const eligible = sorted.filter((m) => m.topics.has(t));
      for (let p = 0; p < partitionCounts.get(t)!; p++) {
        if (taken.has(`${t}:${p}`)) continue;
        let best = eligible[0];
        for (const m of eligible) {
          const owned = m.current.get(t)?.has(p) ?? false;
          const l = load.get(m.memberId)!;
          const bl = load.get(best.memberId)!;
          if (l < bl || (l === bl && owned && !(best.current.get(t)?.has(p) ?? false))) best = m;
        }
        add(out.get(best.memberId)!, t, p);
        load.set(best.memberId, load.get(best.memberId)! + 1);
      }
    }
    return out;
  },
};

export const rangeAssignor: Assignor = {
  name: 'range',
  assign(members, partitionCounts) {
    const out = new Map<string, Assignment>(members.map((m) => [m.memberId, new Map()]));
    for (const [t, count] of [...partitionCounts].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const eligible = members.filter((m) => m.topics.has(t)).map((m) => m.memberId);
      eligible.sort();
      if (eligible.length === 0) continue;
      const per = Math.floor(count / eligible.length);
      const extra = count % eligible.length;
      let p = 0;
      eligible.forEach((id, i) => {
        const n = per + (i < extra ? 1 : 0);
        for (let k = 0; k < n; k++) add(out.get(id)!, t, p++);
      });
    }
    return out;
  },
};

export const assignors: ReadonlyMap<string, Assignor> = new Map([
  [uniformAssignor.name, uniformAssignor],
  [rangeAssignor.name, rangeAssignor],
]);
