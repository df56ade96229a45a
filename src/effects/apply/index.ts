/** The apply effect interpreter: committed entries to the service's state machine. */
export { type Applied, Applier, type StateMachine } from './apply.js';
