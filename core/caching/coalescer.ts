// Coalescing of identical in-flight requests: the first request with a fingerprint becomes the leader
// and runs; identical requests arriving while it runs become its followers and are fed the leader's
// stream instead of running again. A leader has at most `followersMax` followers (beyond that a
// request runs on its own). The gateway core releases followers to run alone after a timeout.
export interface CoalescerParams {
  readonly followersMax: number;
  readonly groupsMax: number;
}

export type JoinResult = { readonly role: 'leader' } | { readonly role: 'follower'; readonly leaderId: string } | { readonly role: 'alone' };

interface Group {
  readonly fp: string;
  readonly followers: Set<string>;
}

export class Coalescer {
  private readonly leaderByFp = new Map<string, string>();
  private readonly groups = new Map<string, Group>();
  private coalescedTotal = 0;

  constructor(private readonly p: CoalescerParams) {}

  join(fp: string, requestId: string): JoinResult {
    const leaderId = this.leaderByFp.get(fp);
    if (leaderId !== undefined) {
      const g = this.groups.get(leaderId)!;
      if (g.followers.size >= this.p.followersMax) return { role: 'alone' };
      g.followers.add(requestId);
      this.coalescedTotal++;
      return { role: 'follower', leaderId };
    }
    if (this.groups.size >= this.p.groupsMax) return { role: 'alone' };
    this.leaderByFp.set(fp, requestId);
    this.groups.set(requestId, { fp, followers: new Set() });
    return { role: 'leader' };
  }

  followers(leaderId: string): ReadonlySet<string> {
    return this.groups.get(leaderId)?.followers ?? EMPTY;
  }

  /** Removes one follower (it timed out or its client left). */
  detach(leaderId: string, followerId: string): boolean {
    return this.groups.get(leaderId)?.followers.delete(followerId) ?? false;
  }

  /** Ends a group (the leader finished or failed); returns its followers. */
  end(leaderId: string): ReadonlySet<string> {
    const g = this.groups.get(leaderId);
    if (g === undefined) return EMPTY;
    this.groups.delete(leaderId);
    if (this.leaderByFp.get(g.fp) === leaderId) this.leaderByFp.delete(g.fp);
    return g.followers;
  }

  isLeader(requestId: string): boolean {
    return this.groups.has(requestId);
  }

  stats() {
    return { groups: this.groups.size, coalescedTotal: this.coalescedTotal };
  }
}

const EMPTY: ReadonlySet<string> = new Set();
