/*
 * causal-recovery.pml — a Promela model of causalflow's local recovery by causal logging.
 * What is modelled, what is abstracted away, and how to run it: docs/protocol-model.md.
 *
 * Topology: source A -> B -> C -> sink S. A reads a durable, re-readable input (its "upstream" never
 * fails); A, B and C each make one nondeterministic decision per record they emit; S writes every
 * record under an output index and deduplicates by it (I12). In a chain where each task emits one
 * record per record it consumes, position p of every task, sequence number p of every channel and
 * output index p of the sink all belong to the p-th input record, so one index serves for all.
 *
 * Configuration, by -D on the spin command line:
 *   DSD_FULL                 full determinant sharing (dsd = -1); default dsd = 1
 *   SINK_STORES_OWN_ONLY     with dsd = 1, the sink persists only its own log, not the replica it holds
 *                            of C's log (the code's behaviour before it stored every log it holds)
 *   NO_CKPT                  no checkpoint completes during a run (recovery always from the start)
 *   NREC=n, MAXF=n           records per run (default 2, at most 7), failures per run (default 2)
 *   BROKEN_NO_ORPHAN_CHECK   the orphan check (I14) removed: replacements go live unchecked
 *   BROKEN_NO_WAIT           recover()'s old bug: a replacement with nothing to replay goes live
 *                            when checkOrphans answers "not yet" (its consumer is dead)
 *   BROKEN_HELD_BY_IGNORES_REPLAY  heldBy without the recorded consumption of a replaying consumer
 *   BROKEN_LATE_DETERMINANTS the delta on a batch stops short of the decision of its record (not I1)
 *   ROUNDS_ANY_ORDER         a later recover() round may replace its tasks before an earlier one
 *   EXPECT_NO_ESCALATION     also assert that recovery never escalates (the DSD guarantee)
 *   OUTPUT_ONLY              check only the output (no duplicate, one execution), not the orphan invariant
 */

#ifndef NREC
#define NREC 2
#endif
#ifndef MAXF
#define MAXF 2
#endif

/* Tasks, in topological order (as the runtime's task ids). */
#define A 0
#define B 1
#define C 2
#define S 3
#define NONE 255

/* Task status: dead (killed, not yet replaced), replaying (a replacement, not yet live), live. */
#define DEAD 0
#define REPLAY 1
#define LIVE 2

/* Task names for the counterexample printouts: A, B, C, S. */
#define NAME(x) ((x) == S -> 83 : 65 + (x))
#define BIT(m, p) (((m) >> (p)) & 1)
#define MASK(n) ((1 << (n)) - 1)
/* Index of holder h's replica of owner o's log. */
#define R(h, o) ((h) * 4 + (o))
/* Value of the record task x emitted at position p: the decision bits of A (bit 0), B (1), C (2). */
#define OUTV(x, p) (((x) == A -> 0 : hv[(x) * NREC + (p)]) | (BIT(dlog[x], p) << (x)))

/* ------------------------------------------------------------------ state */

byte st[4] = LIVE;      /* status of each task's current incarnation */
byte pos[4];            /* next position: records consumed = records emitted (sink: output index) */
byte rcv[4];            /* B, C, S: records received on the input (consumed or queued), i.e. last seq + 1 */
byte hv[4 * NREC];      /* hv[y*NREC+p]: value of the record y holds at seq p (first arrival wins, I8) */
byte dlog[3];           /* own determinant log of A, B, C: the decision at position p is bit p */
byte dlen[4];           /* length of the own log (the sink's own log: ORDER, records consumed) */
byte ever[3];           /* positions some incarnation ever decided live (symmetry reduction: decide) */
byte sc[3];             /* writer of A, B, C: next seq to send on its output channel */
byte rlen[16];          /* replica lengths, R(holder, owner) */
byte rmask[16];         /* replica decision bits */
byte slen[4];           /* the sink partition's stored determinants: length per log */
byte smask[4];          /* ... and their decision bits */
byte vis;               /* the sink partition's visible count */
byte shown[NREC];       /* what the sink partition shows at each output index */
byte ckpt;              /* latest completed checkpoint: the position every replacement restores */
bool escalated;         /* a global rollback was reported (the model stops there) */
byte kills;             /* failures injected so far */
chan rounds = [MAXF] of { byte, byte };   /* recover() calls, in order: one or two tasks each */

/* Scratch of one atomic step; not part of the state vector. */
hidden byte tp, tv, tw, ty, th, tl, tm, ti, tq, tv1, tv2, ta, tb;
hidden byte ip, iv, iw, iy;
hidden byte orph;

#include "recovery.pml"
#include "properties.pml"

/* ------------------------------------------------------------------ processes */

/* One of A, B, C, through all its incarnations. */
proctype Task(byte x) {
end:
  do
  :: atomic { /* process the next record: consume, decide (or replay the decision), emit */
       !escalated && st[x] != DEAD && pos[x] < NREC && (x == A || rcv[x] > pos[x]) &&
       (st[x] == LIVE || pos[x] < dlen[x]) ->
       decide(x); invariants() }
  :: atomic { /* the writer sends its next element (in-flight replay or live), with the delta */
       !escalated && st[x] != DEAD && sc[x] < pos[x] && st[x + 1] != DEAD ->
       send(x); invariants() }
  :: atomic { /* the replay ran out (or there was none): the orphan check before going live */
       !escalated && st[x] == REPLAY && pos[x] == dlen[x] && CONSUMER_READY(x) ->
       orphan_check(x); invariants() }
  od
}

/* The sink task S; its partition (vis, shown, stored determinants) outlives it. */
proctype Sink() {
end:
  do
  :: atomic { !escalated && st[S] != DEAD && rcv[S] > pos[S] && (st[S] == LIVE || pos[S] < dlen[S]) ->
       sink_consume(); invariants() }
  :: atomic { !escalated && st[S] == REPLAY && pos[S] == dlen[S] ->
       sink_check(); invariants() }
  od
}

/* Up to MAXF failures, of any task (the sink and replacements included), alone or two at once. */
active proctype Failures() {
  do
  :: atomic { !escalated && kills < MAXF ->
       pick(tv1); kill(tv1); rounds!tv1,NONE; kills++; invariants() }
  :: atomic { !escalated && kills + 2 <= MAXF ->
       pick2(tv1, tv2); kill(tv1); kill(tv2); rounds!tv1,tv2; kills = kills + 2; invariants() }
  :: break
  od
}

/* LocalRecovery.recover: each round replaces its tasks once the shared pause settled and the sinks'
 * stored determinants were read. Rounds go in the order they failed; with ROUNDS_ANY_ORDER a later
 * round may overtake an earlier one (an external sink partition reading its tail slowly). */
active proctype Recovery() {
end:
  do
  :: atomic { rounds?tv1,tv2 -> if :: !escalated -> recover(tv1, tv2) :: else -> skip fi; invariants() }
#ifdef ROUNDS_ANY_ORDER
  :: atomic { len(rounds) == 2 -> rounds?tv1,tv2; rounds?ta,tb; rounds!tv1,tv2;
       if :: !escalated -> recover(ta, tb) :: else -> skip fi; invariants() }
#endif
  od
}

#ifndef NO_CKPT
/* One checkpoint, at position 1, completes when every task passed it and no recovery is under way
 * (checkpoints are paused from a failure until every replacement is live, I17). Truncation (I2) is
 * implicit: nothing before ckpt is read again. */
active proctype Checkpoint() {
end:
  atomic { ckpt == 0 && !escalated && len(rounds) == 0 &&
           st[A] == LIVE && st[B] == LIVE && st[C] == LIVE && st[S] == LIVE &&
           pos[A] >= 1 && pos[B] >= 1 && pos[C] >= 1 && pos[S] >= 1 ->
           ckpt = 1; printf("MSC: checkpoint 1 completed\n"); invariants() }
}
#endif

/* When nothing can move any more: either an escalation was reported, or the job finished exactly once. */
active proctype Watchdog() {
  timeout -> final_check()
}

init {
  atomic { run Task(A); run Task(B); run Task(C); run Sink() }
}
