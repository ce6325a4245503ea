// Coalescing: leader, followers, the followersMax and groupsMax bounds, detach and end.
import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalescer.js';

describe('Coalescer', () => {
  it('the first request with a fingerprint leads; identical ones follow it', () => {
    const c = new Coalescer({ followersMax: 10, groupsMax: 10 });
    expect(c.join('fp', 'r1')).toEqual({ role: 'leader' });
    expect(c.join('fp', 'r2')).toEqual({ role: 'follower', leaderId: 'r1' });
    expect(c.join('fp', 'r3')).toEqual({ role: 'follower', leaderId: 'r1' });
    expect(c.join('other', 'r4')).toEqual({ role: 'leader' });
    expect([...c.followers('r1')]).toEqual(['r2', 'r3']);
    expect(c.followers('r4').size).toBe(0);
    expect(c.isLeader('r1')).toBe(true);
    expect(c.isLeader('r2')).toBe(false);
    expect(c.stats()).toEqual({ groups: 2, coalescedTotal: 2 });
  });

  it('beyond followersMax a request runs alone', () => {
    const c = new Coalescer({ followersMax: 2, groupsMax: 10 });
    c.join('fp', 'lead');
    c.join('fp', 'f1');
    c.join('fp', 'f2');
    expect(c.join('fp', 'f3')).toEqual({ role: 'alone' });
    expect(c.followers('lead').size).toBe(2);
  });

  it('beyond groupsMax a new fingerprint runs alone; existing groups still take followers', () => {
    const c = new Coalescer({ followersMax: 5, groupsMax: 1 });
    c.join('a', 'r1');
    expect(c.join('b', 'r2')).toEqual({ role: 'alone' });
    expect(c.join('a', 'r3')).toEqual({ role: 'follower', leaderId: 'r1' });
  });

  it('detach removes one follower (timeout or client gone)', () => {
    const c = new Coalescer({ followersMax: 5, groupsMax: 5 });
    c.join('fp', 'lead');
    c.join('fp', 'f1');
    c.join('fp', 'f2');
    expect(c.detach('lead', 'f1')).toBe(true);
    expect(c.detach('lead', 'f1')).toBe(false);
    expect(c.detach('nobody', 'f2')).toBe(false);
    expect([...c.followers('lead')]).toEqual(['f2']);
  });

  it('end returns the followers and frees the fingerprint for a new leader', () => {
    const c = new Coalescer({ followersMax: 5, groupsMax: 1 });
    c.join('fp', 'lead');
    c.join('fp', 'f1');
    expect([...c.end('lead')]).toEqual(['f1']);
    expect(c.isLeader('lead')).toBe(false);
    expect(c.followers('lead').size).toBe(0);
    expect(c.end('lead').size).toBe(0);
    // The group slot and the fingerprint are free again.
    expect(c.join('fp', 'next')).toEqual({ role: 'leader' });
    expect(c.stats().groups).toBe(1);
  });
});
