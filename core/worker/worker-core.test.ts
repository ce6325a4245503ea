// The worker's pure decisions (core/worker/): KV reservation, the KV shortfall, deadlines, a runtime
// lost before the first token, admission limits, the models' lifecycle (hot, idle, unhealthy).
import { describe, expect, it } from 'vitest';
import { estimatePromptTokens, kvReserveTokens, MESSAGE_TEMPLATE_BYTES, onKvShortfall } from './kv-reservation.js';
import { deadlineDelayMs, deadlinePassed, waitWithinDeadline } from './deadline.js';
import { onRuntimeLost } from './runtime-lost.js';
import { isClientFault, WORKER_ERROR_CATALOGUE } from './errors.js';
import { admitWithinLimits, validateAdmissionLimits, waitWithinLimits } from './admission-limits.js';
import { HotModels, idleModelAction, modelUnhealthy, UNHEALTHY_FAILURES } from './model-lifecycle.js';

describe('KV reservation', () => {
  it('reserves prompt + max_tokens, whatever the output turns out to be', () => {
    expect(kvReserveTokens(100, 256)).toBe(356);
    expect(() => kvReserveTokens(-1, 1)).toThrow();
    expect(() => kvReserveTokens(1, Number.NaN)).toThrow();
  });

  it('estimates a prompt with the one rule (UTF-8 bytes / 3), a message adding its template bytes', () => {
    expect(estimatePromptTokens('abcdefghi', [])).toBe(3);
    expect(estimatePromptTokens('ignored', ['a'])).toBe(Math.ceil((1 + MESSAGE_TEMPLATE_BYTES) / 3));
    expect(estimatePromptTokens('', ['日本', 'x'])).toBe(Math.ceil((6 + 1 + 2 * MESSAGE_TEMPLATE_BYTES) / 3));
  });

  it('a shortfall waits, or is refused: too large for an empty node, waiting off, waiters full', () => {
    const s = { aloneBytes: 10, capacityBytes: 100, kvWaitMs: 1000, waiting: 0, waitingMax: 2 };
    expect(onKvShortfall(s)).toEqual({ kind: 'wait' });
    expect(onKvShortfall({ ...s, aloneBytes: 101 })).toMatchObject({ kind: 'refuse', code: 'kv_exceeds_capacity' });
    expect(onKvShortfall({ ...s, kvWaitMs: 0 })).toMatchObject({ kind: 'refuse', code: 'kv_capacity' });
    expect(onKvShortfall({ ...s, waiting: 2 })).toMatchObject({ kind: 'refuse', code: 'kv_capacity' });
  });
});

describe('deadline', () => {
  it('0 is none; a deadline at or before now has passed', () => {
    expect(deadlinePassed(0, 5)).toBe(false);
    expect(deadlinePassed(5, 5)).toBe(true);
    expect(deadlinePassed(6, 5)).toBe(false);
    expect(deadlineDelayMs(0, 5)).toBeUndefined();
    expect(deadlineDelayMs(3, 5)).toBe(0);
    expect(deadlineDelayMs(15, 5)).toBe(10);
  });

  it('cuts a bounded wait short, and says the deadline ended it', () => {
    expect(waitWithinDeadline(100, 0, 5)).toEqual({ waitMs: 100, byDeadline: false });
    expect(waitWithinDeadline(100, 1000, 5)).toEqual({ waitMs: 100, byDeadline: false });
    expect(waitWithinDeadline(100, 55, 5)).toEqual({ waitMs: 50, byDeadline: true });
    expect(waitWithinDeadline(100, 1, 5)).toEqual({ waitMs: 0, byDeadline: true });
  });
});

describe('runtime lost', () => {
  it('before the first token: reported as runtime_lost, retryHere when another runtime is alive and the worker is not stopping; after a token: the loss\'s own error', () => {
    expect(onRuntimeLost({ tokensSent: 0, otherRuntimesAlive: 1, stopping: false })).toEqual({ kind: 'report', code: 'runtime_lost', retryHere: true });
    expect(onRuntimeLost({ tokensSent: 0, otherRuntimesAlive: 0, stopping: false })).toEqual({ kind: 'report', code: 'runtime_lost', retryHere: false });
    expect(onRuntimeLost({ tokensSent: 0, otherRuntimesAlive: 2, stopping: true })).toEqual({ kind: 'report', code: 'runtime_lost', retryHere: false });
    expect(onRuntimeLost({ tokensSent: 1, otherRuntimesAlive: 1, stopping: false })).toEqual({ kind: 'fail' });
    expect(() => onRuntimeLost({ tokensSent: -1, otherRuntimesAlive: 0, stopping: false })).toThrow();
  });

  it('runtime_lost is in the one catalogue, the worker\'s fault (the gateway core may retry it)', () => {
    expect(WORKER_ERROR_CATALOGUE.runtime_lost.clientFault).toBe(false);
    expect(isClientFault('runtime_lost')).toBe(false);
  });
});

describe('admission limits', () => {
  const l = { maxConcurrent: 2, waitingMax: 1 };
  it('refuses overloaded at maxConcurrent held, queue_full at waitingMax waiting', () => {
    expect(admitWithinLimits(1, l)).toEqual({ kind: 'admit' });
    expect(admitWithinLimits(2, l)).toMatchObject({ kind: 'refuse', code: 'overloaded' });
    expect(waitWithinLimits(0, l)).toEqual({ kind: 'admit' });
    expect(waitWithinLimits(1, l)).toMatchObject({ kind: 'refuse', code: 'queue_full' });
    expect(admitWithinLimits(1e9, { maxConcurrent: Number.POSITIVE_INFINITY, waitingMax: 1 })).toEqual({ kind: 'admit' });
    expect(isClientFault('overloaded') || isClientFault('queue_full')).toBe(false);
  });

  it('validates its bounds', () => {
    expect(() => validateAdmissionLimits({ maxConcurrent: 0, waitingMax: 1 })).toThrow();
    expect(() => validateAdmissionLimits({ maxConcurrent: 1, waitingMax: 1.5 })).toThrow();
    expect(() => validateAdmissionLimits({ maxConcurrent: Number.POSITIVE_INFINITY, waitingMax: 1 })).not.toThrow();
  });
});

describe('model lifecycle', () => {
  it('a model is hot with minRequests requests within windowMs; 0 is never hot; forget drops it', () => {
    const h = new HotModels({ windowMs: 100, minRequests: 3 });
    h.note('m', 0);
    h.note('m', 10);
    expect(h.isHot('m', 20)).toBe(false);
    h.note('m', 20);
    expect(h.isHot('m', 100)).toBe(true);
    expect(h.isHot('m', 101)).toBe(false); // the oldest of the last 3 is 0
    h.note('m', 105);
    expect(h.isHot('m', 105)).toBe(true); // the last 3: 10, 20, 105
    h.forget('m');
    expect(h.isHot('m', 105)).toBe(false);
    const never = new HotModels({ windowMs: 100, minRequests: 0 });
    never.note('m', 0);
    expect(never.isHot('m', 0)).toBe(false);
    expect(() => new HotModels({ windowMs: 1, minRequests: 1.5 })).toThrow();
  });

  it('an idle model: kept while busy, kept and warmed while hot, else unloaded', () => {
    expect(idleModelAction(true, true)).toBe('keep');
    expect(idleModelAction(true, false)).toBe('keep');
    expect(idleModelAction(false, true)).toBe('prewarm');
    expect(idleModelAction(false, false)).toBe('unload');
  });

  it('a model is unhealthy with no runtime alive and each failing UNHEALTHY_FAILURES starts in a row', () => {
    expect(modelUnhealthy(0, [UNHEALTHY_FAILURES, UNHEALTHY_FAILURES + 1])).toBe(true);
    expect(modelUnhealthy(0, [UNHEALTHY_FAILURES, UNHEALTHY_FAILURES - 1])).toBe(false);
    expect(modelUnhealthy(1, [UNHEALTHY_FAILURES])).toBe(false);
  });
});
