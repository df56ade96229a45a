/**
 * The lab's goroutines on a virtual clock. A test body and the clients it spawns are generators that yield
 * how many virtual milliseconds they want to sleep; `runTasks` resumes whichever is due next and moves the
 * simulated cluster's clock up to that instant in between. Everything is synchronous and single-threaded,
 * so a seed reproduces the interleaving exactly, and a "sleep" costs no wall time.
 */
/** The part of the simulator the scheduler drives: its clock. */
export interface VirtualClock {
  readonly now: number;
  /** Runs everything due in the next `ms` virtual milliseconds. */
  runFor(ms: number): void;
}

/** A lab goroutine: yields sleeps (virtual ms) and returns a T. */
export type Task<T = void> = Generator<number, T, void>;

/** time.Sleep */
export function* sleep(ms: number): Task {
  yield ms;
}

/** What the test can see of a spawned task: a WaitGroup of one, or the channel it sends its result on. */
export interface Spawned<T> {
  readonly done: boolean;
  readonly result: T | undefined;
}

interface Runnable {
  readonly task: Task<unknown>;
  wakeAt: number;
  /** Ties at the same instant resume in the order the tasks went to sleep. */
  order: number;
  done: boolean;
  result: unknown;
}

export class Scheduler {
  readonly #runnables: Runnable[] = [];
  #order = 0;

  constructor(private readonly clock: VirtualClock) {}

  /** `go f()`: starts `task` at the current instant, after the task that spawned it yields. */
  spawn<T>(task: Task<T>): Spawned<T> {
    const runnable: Runnable = {
      task,
      wakeAt: this.clock.now,
      order: this.#order++,
      done: false,
      result: undefined,
    };
    this.#runnables.push(runnable);
    return {
      get done() {
        return runnable.done;
      },
      get result() {
        return runnable.result as T | undefined;
      },
    };
  }

  /** wg.Wait(): sleeps until every one of `tasks` has returned. */
  *join(tasks: readonly Spawned<unknown>[]): Task {
    // Polling every virtual millisecond is as prompt as a real WaitGroup at this clock's resolution.
    while (!tasks.every((task) => task.done)) yield 1;
  }

  /** Runs `main` and whatever it spawns until `main` returns; a task's exception ends the run. */
  run<T>(main: Task<T>): T {
    const spawned = this.spawn(main);
    while (!spawned.done) this.#resumeNext();
    // Like goroutines still running when a Go test returns, unfinished tasks are simply abandoned.
    this.#runnables.length = 0;
    return spawned.result as T;
  }

  #resumeNext(): void {
    const next = this.#runnables.reduce((a, b) =>
      a.wakeAt < b.wakeAt || (a.wakeAt === b.wakeAt && a.order < b.order) ? a : b,
    );
    if (next.wakeAt > this.clock.now) this.clock.runFor(next.wakeAt - this.clock.now);
    const step = next.task.next();
    if (step.done) {
      next.done = true;
      next.result = step.value;
      this.#runnables.splice(this.#runnables.indexOf(next), 1);
    } else {
      next.wakeAt = this.clock.now + Math.max(0, step.value);
      next.order = this.#order++;
    }
  }
}
