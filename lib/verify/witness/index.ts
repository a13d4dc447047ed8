/**
 * The independent witness of `causalflow verify`: a checker that recomputes every output record of the
 * built-in jobs from what it carries ({@link checkWitness}, with one {@link WitnessRule} per job), and
 * the HTTP server whose log of answers it checks them against ({@link WitnessServer}). This folder
 * imports only Node built-ins: it shares no code with the runtime, the causal services or recovery.
 */
export { CHECKS, checkWitness, describeWitness } from './check.js';
export type { Check, CarriedAnswer, Problem, Rec, WitnessEnv, WitnessOptions, WitnessReport, WitnessRule } from './check.js';
export { WitnessServer, TOKEN_HEADER } from './server.js';
export type { RefusedCall, ServedCall, ServiceAddress } from './server.js';
export { WITNESS_RULES, ruleFor } from './rules.js';
