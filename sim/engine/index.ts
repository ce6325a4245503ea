// Public API of the event engine.
export { EventCalendar } from './calendar.js';
export { EventHeap, PHASE_COUNT_MAX, type EventView } from './heap.js';
export { EventLoop, Phase, SchedulingError, StepLimitExceededError, type EventHandler, type EventLoopOptions, type RunResult, type Scheduler, type SimClock } from './loop.js';
