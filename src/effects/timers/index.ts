/** The timer effect interpreter, over the real event loop (`realClock`) or a hand-driven one (`ManualClock`). */
export { type Clock, ManualClock, realClock } from './clock.js';
export { Timers } from './timers.js';
