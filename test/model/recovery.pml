/*
 * recovery.pml — the steps of the protocol, as inlines over the state of causal-recovery.pml.
 * Each inline names the code it models (lib/runtime/local-recovery.ts, lib/runtime/task.ts,
 * determinants/shipper.ts, lib/operators/sink.ts) and the invariant it relies on (docs/protocol.md).
 */

/* I4: two copies of one log agree where they overlap (from the checkpoint on); keep the longest.
 * ReplicaStore.ingest / longestCopy; a disagreement would be a LogDivergenceError. */
inline ingest(hl, hm, nl, nm) {
  ti = (hl < nl -> hl : nl);
  assert(((hm ^ nm) & MASK(ti) & ~MASK(ckpt)) == 0);
  if
  :: nl > hl -> hl = nl; hm = nm & MASK(nl)
  :: else -> skip
  fi
}

/* ReplayDriver.run / the live loop: consume the record at pos[x], decide, emit into the in-flight log.
 * Live, the decision is appended to the own log before the record is emitted (I1, step 1). Replaying,
 * the recorded decision is used (I6). Symmetry reduction: the first decision ever taken at a position
 * is called 0 (values are only compared for equality); an incarnation deciding a position anew, its
 * determinant lost, may decide 0 (the same) or 1 (differently). */
inline decide(x) {
  tp = pos[x];
  if
  :: st[x] == LIVE ->
     if
     :: BIT(ever[x], tp) == 0 -> dlog[x] = dlog[x] & ~(1 << tp)
     :: BIT(ever[x], tp) == 1 -> dlog[x] = dlog[x] & ~(1 << tp)
     :: BIT(ever[x], tp) == 1 -> dlog[x] = dlog[x] | (1 << tp)
     fi;
     ever[x] = ever[x] | (1 << tp);
     dlen[x] = tp + 1;
     printf("MSC: %c decides %d at position %d (live)\n", NAME(x), BIT(dlog[x], tp), tp)
  :: else -> printf("MSC: %c replays decision %d at position %d\n", NAME(x), BIT(dlog[x], tp), tp)
  fi;
  pos[x] = tp + 1
}

/* ChannelWriter + DeltaShipper.writeDelta + InputGate.skipConsumed: x sends element sc[x] to y = x+1.
 * The consumer takes seq = the next expected one, drops a duplicate (I8), and ingests the envelope on
 * arrival (I1: the delta travels on the same batch as the records). dsd 1 ships the own log only;
 * full sharing also forwards every replica the sender holds. */
inline send(x) {
  ty = x + 1;
  tp = sc[x];
  tv = OUTV(x, tp);
  if
  :: tp < rcv[ty] ->                                   /* a duplicate: dropped by sequence number */
     printf("MSC: %c -> %c seq %d value %d: duplicate, dropped\n", NAME(x), NAME(ty), tp, tv)
  :: tp == rcv[ty] ->
     printf("MSC: %c -> %c seq %d value %d\n", NAME(x), NAME(ty), tp, tv);
     hv[ty * NREC + tp] = tv; rcv[ty] = tp + 1
  :: tp > rcv[ty] -> assert(false)                     /* I8: a gap */
  fi;
#ifdef BROKEN_LATE_DETERMINANTS
  /* I1 broken: the delta is cut before the decision of the record it carries */
  tl = (dlen[x] > tp -> tp : dlen[x]);
  ingest(rlen[R(ty, x)], rmask[R(ty, x)], tl, dlog[x]);
#else
  ingest(rlen[R(ty, x)], rmask[R(ty, x)], dlen[x], dlog[x]);
#endif
#ifdef DSD_FULL
  tw = A;
  do
  :: tw < x -> ingest(rlen[R(ty, tw)], rmask[R(ty, tw)], rlen[R(x, tw)], rmask[R(x, tw)]); tw++
  :: else -> break
  od;
#endif
  sc[x] = tp + 1
}

/* SinkOperator.flush, deduplicating: an output index not yet visible is written together with the
 * sink task's determinants, atomically (one lmdb transaction, I12); one already visible is dropped.
 * deltaForSink ships the own log and, beyond dsd 1, the replicas it holds (DeltaShipper: dsd 1 ships
 * only the own log). */
inline sink_consume() {
  tp = pos[S];
  tv = hv[S * NREC + tp];
  pos[S] = tp + 1;
  if
  :: st[S] == LIVE -> dlen[S] = tp + 1                 /* ORDER: the sink task's own log */
  :: else -> skip
  fi;
  if
  :: tp >= vis ->
     assert(tp == vis);                                /* I12: an index is written once, in order */
     printf("MSC: sink shows index %d value %d\n", tp, tv);
     shown[tp] = tv;
     vis = tp + 1;
     slen[S] = dlen[S];
#ifdef DSD_FULL
     ingest(slen[A], smask[A], rlen[R(S, A)], rmask[R(S, A)]);
     ingest(slen[B], smask[B], rlen[R(S, B)], rmask[R(S, B)]);
     ingest(slen[C], smask[C], rlen[R(S, C)], rmask[R(S, C)]);
#else
#ifndef SINK_STORES_OWN_ONLY
     ingest(slen[C], smask[C], rlen[R(S, C)], rmask[R(S, C)]);
#endif
#endif
     skip
  :: else ->
     printf("MSC: sink drops index %d value %d (shows %d)\n", tp, tv, shown[tp]);
     /* no duplicate output: a record dropped because its index is visible must be the one shown */
     assert(escalated || shown[tp] == tv)
  fi
}

/* A failure: the task's memory is gone (its log, replicas, input queues); what it sent is the
 * consumers' now (Executor.killNow closes its input channels). The sink partition survives. */
inline kill(x) {
  printf("MSC: %c fails\n", NAME(x));
  st[x] = DEAD;
  pos[x] = ckpt;
  rcv[x] = ckpt;
  dlen[x] = ckpt;
  tq = ckpt;
  do
  :: tq < NREC -> hv[x * NREC + tq] = 0; tq++
  :: else -> break
  od;
  if
  :: x < S -> dlog[x] = dlog[x] & MASK(ckpt); sc[x] = ckpt
  :: else -> skip
  fi;
  tq = A;
  do
  :: tq < x -> rlen[R(x, tq)] = 0; rmask[R(x, tq)] = 0; tq++
  :: else -> break
  od
}

inline pick(v) {
  if
  :: st[A] != DEAD -> v = A
  :: st[B] != DEAD -> v = B
  :: st[C] != DEAD -> v = C
  :: st[S] != DEAD -> v = S
  fi
}

/* Two tasks failing at once (noticed in one go: one recover() call, FailureIntake.recoverPending). */
inline pick2(v1, v2) {
  if
  :: st[A] != DEAD && st[B] != DEAD -> v1 = A; v2 = B
  :: st[A] != DEAD && st[C] != DEAD -> v1 = A; v2 = C
  :: st[A] != DEAD && st[S] != DEAD -> v1 = A; v2 = S
  :: st[B] != DEAD && st[C] != DEAD -> v1 = B; v2 = C
  :: st[B] != DEAD && st[S] != DEAD -> v1 = B; v2 = S
  :: st[C] != DEAD && st[S] != DEAD -> v1 = C; v2 = S
  fi
}

/* LocalRecovery.replace: standby activation, the longest log copy, upstream replay. */
inline replace(x) {
  /* standby activation: the state at checkpoint ckpt (positions, consumed input, output index) */
  pos[x] = ckpt;
  rcv[x] = ckpt;
  /* collectLog: the longest copy among live tasks' replicas and the sink partition's store (I4) */
  tl = 0;
  tm = 0;
  th = x + 1;
  do
  :: th <= S ->
     if
     :: st[th] != DEAD -> ingest(tl, tm, rlen[R(th, x)], rmask[R(th, x)])
     :: else -> skip
     fi;
     th++
  :: else -> break
  od;
  ingest(tl, tm, slen[x], smask[x]);
  if
  :: tl < ckpt -> tl = ckpt
  :: else -> skip
  fi;
  dlen[x] = tl;
  if
  :: x < S -> dlog[x] = (dlog[x] & MASK(ckpt)) | (tm & ~MASK(ckpt)); sc[x] = ckpt
  :: else -> skip
  fi;
  st[x] = REPLAY;
  printf("MSC: %c's standby activated at checkpoint %d, replays to position %d\n", NAME(x), ckpt, tl);
  /* a live upstream replays its in-flight log after what the checkpoint consumed (Task.replayTo); an
   * upstream replaced in this round writes the new channel from the start anyway */
  if
  :: x > A ->
     if
     :: st[x - 1] != DEAD -> sc[x - 1] = ckpt
     :: else -> skip
     fi
  :: else -> skip
  fi
}

inline escalate() {
  escalated = true;
  printf("MSC: escalated: global rollback\n")
}

/* LocalRecovery.checkOrphans for a task with one writer to y = x+1 (heldBy: the consumer's last
 * consumed or queued seq, or what its recorded log will consume if it replays). I14. */
inline orphan_check(x) {
#ifdef BROKEN_NO_ORPHAN_CHECK
  st[x] = LIVE; printf("MSC: %c live at position %d, unchecked\n", NAME(x), pos[x])
#else
  ty = x + 1;
  th = rcv[ty];
#ifndef BROKEN_HELD_BY_IGNORES_REPLAY
  if
  :: st[ty] == REPLAY && dlen[ty] > th -> th = dlen[ty]
  :: else -> skip
  fi;
#endif
  if
  :: pos[x] < th ->
     printf("MSC: orphan: %c holds up to seq %d from %c, which regenerated up to %d\n", NAME(ty), th - 1, NAME(x), pos[x] - 1);
     escalate()
  :: else -> st[x] = LIVE; printf("MSC: %c live at position %d\n", NAME(x), pos[x])
  fi
#endif
}

/* The sink task's orphan check: its next output index against the partition's visible count. */
inline sink_check() {
#ifdef BROKEN_NO_ORPHAN_CHECK
  st[S] = LIVE; printf("MSC: S live at index %d, unchecked\n", pos[S])
#else
  if
  :: pos[S] < vis ->
     printf("MSC: orphan: the sink shows %d records, its replacement regenerated %d\n", vis, pos[S]);
     escalate()
  :: else -> st[S] = LIVE; printf("MSC: S live at index %d\n", pos[S])
  fi
#endif
}

/* checkOrphans returns false ("not yet") while the consumer is dead and not yet replaced. */
#ifdef BROKEN_NO_ORPHAN_CHECK
#define CONSUMER_READY(x) true
#else
#define CONSUMER_READY(x) (st[(x) + 1] != DEAD)
#endif

/* recover(): a replacement with nothing to replay is checked at once, after every replacement of
 * the round exists; when its consumer is dead the check must wait (the Task loop retries it). */
inline at_once(x) {
  if
  :: !escalated && st[x] == REPLAY && pos[x] == dlen[x] ->
     if
     :: x == S -> sink_check()
     :: x < S && CONSUMER_READY(x) -> orphan_check(x)
     :: x < S && !CONSUMER_READY(x) ->
#ifdef BROKEN_NO_WAIT
        st[x] = LIVE;     /* the bug: "not yet" ignored, the replacement goes live */
        printf("MSC: %c live at position %d although its consumer is dead\n", NAME(x), pos[x])
#else
        skip              /* wait, then check (Task process, third branch) */
#endif
     fi
  :: else -> skip
  fi
}

/* LocalRecovery.recover for one round: replacements upstream first, then the at-once checks. */
inline recover(v1, v2) {
  replace(v1);
  if
  :: v2 != NONE -> replace(v2)
  :: else -> skip
  fi;
  at_once(v1);
  if
  :: v2 != NONE -> at_once(v2)
  :: else -> skip
  fi
}
