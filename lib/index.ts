/**
 * `causalflow`: the public API of the runtime. The determinant log library is available on its own as
 * `causalflow/determinants`.
 *
 * @packageDocumentation
 */
export { CausalflowError } from '../determinants/errors.js';
export type { ErrorContext } from '../determinants/errors.js';
export { SeededRandom } from './util/random.js';
