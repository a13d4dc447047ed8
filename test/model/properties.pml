/*
 * properties.pml — the two properties, checked as assertions (see docs/protocol-model.md, "Properties").
 *
 * invariants() ends every atomic step of every process, so it holds in every state at which processes
 * interleave: it is the safety formula [] (escalated || !orphan), checked without a never claim.
 * The no-duplicate-output property is asserted where the sink writes or drops (recovery.pml,
 * sink_consume) and, for the whole output, when the run is over (final_check).
 */

/* Is the decision b of task w at position p, held somewhere, an orphan? The current incarnation of w
 * either has a determinant for p (then it must be b: its own log, or the copy it replays), or it is
 * live without one (then it decides p anew: the holder depends on a decision nobody records). While w
 * is dead, or replays a copy that stops short of p, nothing is decided yet: the orphan check (I14)
 * must escalate before w goes live. */
inline judge(w, p, b) {
  if
  :: st[w] == DEAD -> skip
  :: st[w] != DEAD && dlen[w] > p ->
     if
     :: BIT(dlog[w], p) != b -> orph = 1
     :: else -> skip
     fi
  :: st[w] == LIVE && dlen[w] <= p -> orph = 1
  :: st[w] == REPLAY && dlen[w] <= p -> skip
  fi
}

/* No orphans: no live task (B, C, the sink task: consumed or queued records, from the checkpoint on)
 * and no output the sink partition shows holds a record carrying a decision that is lost or decided
 * differently, unless an escalation was reported. Records before the checkpoint are part of a
 * completed checkpoint: no replacement regenerates them. */
inline invariants() {
  orph = 0;
  iy = B;
  do
  :: iy <= S ->
     if
     :: st[iy] != DEAD ->
        ip = ckpt;
        do
        :: ip < rcv[iy] ->
           iv = hv[iy * NREC + ip];
           iw = A;
           do
           :: iw < iy -> judge(iw, ip, BIT(iv, iw)); iw++
           :: else -> break
           od;
           ip++
        :: else -> break
        od
     :: else -> skip
     fi;
     iy++
  :: else -> break
  od;
  ip = ckpt;
  do
  :: ip < vis ->
     iv = shown[ip];
     iw = A;
     do
     :: iw < S -> judge(iw, ip, BIT(iv, iw)); iw++
     :: else -> break
     od;
     /* the sink task itself: live with an output index below what the partition shows */
     if
     :: st[S] == LIVE && dlen[S] <= ip -> orph = 1
     :: else -> skip
     fi;
     ip++
  :: else -> break
  od;
#ifndef OUTPUT_ONLY
  assert(escalated || !orph);
#endif
#ifdef EXPECT_NO_ESCALATION
  assert(!escalated);
#endif
  skip
}

/* Nothing can move any more. Unless an escalation was reported, every task is live and done, and the
 * sink shows every record once: the record of one execution, the one the final logs describe
 * (what the verifier's oracle replay checks in test/causal). A replacement waiting forever for its
 * orphan check, or a replay stuck for input, fails here. */
inline final_check() {
  if
  :: escalated -> skip
  :: else ->
     assert(st[A] == LIVE && st[B] == LIVE && st[C] == LIVE && st[S] == LIVE);
     assert(pos[A] == NREC && pos[B] == NREC && pos[C] == NREC && pos[S] == NREC);
     assert(sc[A] == NREC && sc[B] == NREC && sc[C] == NREC && vis == NREC);
     ip = 0;
     do
     :: ip < NREC ->
        assert(shown[ip] == (BIT(dlog[A], ip) | (BIT(dlog[B], ip) << 1) | (BIT(dlog[C], ip) << 2)));
        ip++
     :: else -> break
     od
  fi
}
