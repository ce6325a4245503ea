// The event loop and the virtual clock. The loop owns the event queue (calendar.ts: a calendar for the
// near future, a heap for the rest): handlers never touch it, they return
// follow-up events through the `Scheduler` they are given (an output collector, so that returning
// events costs no array allocation per event). Each event kind is registered once with its phase
// (tie order at equal time) and its handler; dispatch is a table lookup by kind.
// Every run has a maximum number of steps; exceeding it throws a StepLimitExceededError naming the seed.

import { EventCalendar } from './calendar.js';
import type { EventView } from './heap.js';

/** Virtual time, readable only. The loop is the only writer. */
export interface SimClock {
  readonly nowMs: number;
}

/** What a handler may do: read the time and schedule follow-up events (never in the past). */
export interface Scheduler extends SimClock {
  /** Schedules an event of a registered kind at `timeMs` (>= nowMs). `target` is an integer id (e.g. worker index). */
  schedule(timeMs: number, kind: number, target?: number, num?: number, payload?: unknown): void;
  /** Ends the run after the current event. */
  stop(): void;
}

export type EventHandler = (event: Readonly<EventView>, sim: Scheduler) => void;

export interface EventLoopOptions {
  /** The run's seed, printed in errors so a failure can be reproduced. */
  readonly seed: string | number;
  /** Bound on handled events per run() call. */
  readonly maxSteps: number;
  readonly heapCapacityMax?: number;
}

export interface RunResult {
  readonly steps: number;
  readonly endMs: number;
  readonly reason: 'empty' | 'until' | 'stopped';
}

export class StepLimitExceededError extends Error {
  constructor(readonly seed: string | number, readonly maxSteps: number, readonly nowMs: number) {
    super(`simulation exceeded maxSteps=${maxSteps} at t=${nowMs.toFixed(3)} ms (seed ${JSON.stringify(seed)}); rerun with this seed to reproduce`);
    this.name = 'StepLimitExceededError';
  }
}

export class SchedulingError extends Error {
  constructor(message: string, readonly seed: string | number) {
    super(`${message} (seed ${JSON.stringify(seed)})`);
    this.name = 'SchedulingError';
  }
}

const KIND_COUNT_MAX = 64;

export class EventLoop implements Scheduler {
  private readonly heap: EventCalendar;
  private readonly handlers: (EventHandler | undefined)[] = [];
  private readonly phases: number[] = [];
  private readonly names: string[] = [];
  private readonly view: EventView = { timeMs: 0, phase: 0, seq: 0, kind: 0, target: 0, num: 0, payload: undefined };
  private now = 0;
  private stopped = false;
  private stepsTotal = 0;

  constructor(readonly options: EventLoopOptions) {
    if (!(options.maxSteps > 0)) throw new Error(`EventLoop: maxSteps must be > 0, got ${options.maxSteps}`);
    this.heap = new EventCalendar(1024, options.heapCapacityMax);
  }

  get nowMs(): number {
    return this.now;
  }

  get pendingEvents(): number {
    return this.heap.size;
  }

  get steps(): number {
    return this.stepsTotal;
  }

  /** Registers an event kind: an integer id, its tie phase (lower runs first at equal time) and its handler. */
  on(kind: number, phase: number, name: string, handler: EventHandler): void {
    if (!(kind >= 0 && kind < KIND_COUNT_MAX) || (kind | 0) !== kind) throw new Error(`EventLoop.on: kind must be an integer in [0, ${KIND_COUNT_MAX}), got ${kind}`);
    if (this.handlers[kind]) throw new Error(`EventLoop.on: kind ${kind} already registered as ${this.names[kind]}`);
    this.handlers[kind] = handler;
    this.phases[kind] = phase;
    this.names[kind] = name;
  }

  schedule(timeMs: number, kind: number, target = 0, num = 0, payload: unknown = undefined): void {
    const phase = this.phases[kind];
    if (phase === undefined) throw new SchedulingError(`schedule: event kind ${kind} is not registered`, this.options.seed);
    if (!(timeMs >= this.now)) {
      throw new SchedulingError(`schedule: ${this.names[kind]} at ${timeMs} ms is before now (${this.now} ms)`, this.options.seed);
    }
    this.heap.push(timeMs, phase, kind, target, num, payload);
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Handles events in (time, phase, seq) order until the heap is empty, the next event is later than
   * `untilMs` (the clock then advances to untilMs), or a handler calls stop().
   */
  run(untilMs = Infinity): RunResult {
    const { heap, view, handlers } = this;
    const maxSteps = this.options.maxSteps;
    let steps = 0;
    this.stopped = false;
    for (;;) {
      if (this.stopped) return this.result(steps, 'stopped');
      const t = heap.peekTimeMs();
      if (t === Infinity) return this.result(steps, 'empty');
      if (t > untilMs) {
        this.now = untilMs;
        return this.result(steps, 'until');
      }
      if (steps >= maxSteps) throw new StepLimitExceededError(this.options.seed, maxSteps, this.now);
      heap.popInto(view);
      this.now = view.timeMs;
      steps++;
      (handlers[view.kind] as EventHandler)(view, this);
    }
  }

  private result(steps: number, reason: RunResult['reason']): RunResult {
    this.stepsTotal += steps;
    this.view.payload = undefined;
    return { steps, endMs: this.now, reason };
  }
}

/**
 * Phases used by the simulator's own event kinds. At one instant: worker step completions and
 * fault transitions settle first, then messages in flight, then new arrivals, then timers.
 */
export const Phase = {
  workerStep: 0,
  fault: 1,
  network: 2,
  arrival: 3,
  timer: 4,
} as const;
