// proc-stats against real processes: a parent with a child shows up as a tree, a child orphaned by
// SIGKILL to its parent is still seen alive (the leak the soak and node-kill scenarios look for),
// and descriptors count the sockets a process holds.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { until } from './poll.js';
import { alivePids, descriptors, processTree } from './proc-stats.js';


describe('proc-stats', () => {
  it('finds a process tree and sees an orphan that outlives its killed parent', async () => {
    const parent = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
    let tree: ReturnType<typeof processTree> = [];
    await until(() => (tree = processTree(parent.pid!)).length === 2);
    expect(tree[0]!.pid).toBe(parent.pid);
    expect(tree[1]!.command).toMatch(/sleep 30/);
    expect(tree[0]!.rssKb).toBeGreaterThan(0);
    const child = tree[1]!.pid;
    parent.kill('SIGKILL');
    await until(() => alivePids([parent.pid!]).length === 0);
    expect(alivePids([child])).toEqual([child]);
    process.kill(child, 'SIGKILL');
    await until(() => alivePids([child]).length === 0);
  });

  it.runIf(process.platform === 'linux')('counts the sockets a process holds', async () => {
    const before = descriptors(process.pid)!;
    const servers = await Promise.all([0, 1, 2].map(() => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })));
    const during = descriptors(process.pid)!;
    expect(during.sockets - before.sockets).toBe(3);
    expect(during.fds - before.fds).toBe(3);
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    expect(descriptors(process.pid)!.sockets).toBe(before.sockets);
    expect(descriptors(999_999_999)).toBeUndefined();
  });
});
