/** The bound lives beside the schedulers now (`ygg demo` prints it too); the benches import it from here. */
export { type BoundTask, type LowerBound, makespanLowerBound } from '../../src/schedule/lower-bound.js';
