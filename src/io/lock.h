/* One writer per run directory: an exclusive flock(2) on DIR/.lmrnn.lock, held by every command that
 * writes the directory (train, train --resume/--force, eval, plot, the experiment driver's runs) until it
 * exits. The holder's pid is written into the lock file, so a second writer is told who holds it. The lock
 * goes away with the process (kill -9 included): there is never a stale lock to remove by hand. */
#ifndef LMRNN_LOCK_H
#define LMRNN_LOCK_H

#define LM_LOCK_FILE ".lmrnn.lock"

/* Take the lock on `dir` (which must exist), then remove the stale temp files of dead processes from dir
 * and dir/plots (lm_clean_temps). Re-entrant within a process: a second call for a directory this process
 * holds only counts. 0, or -1 with lm_err_set("<dir> is in use by another lmrnn process (pid N)") or the
 * I/O error. A directory where no lock file can be created (read-only) is not locked: nobody can write
 * there. */
int lm_dir_lock(const char *dir);
/* Release one lm_dir_lock of `dir` (the last one closes the lock file). */
void lm_dir_unlock(const char *dir);

/* Remove "<name>.tmp.<pid>[.<suffix>]" files in `dir` whose process no longer exists (what a kill during
 * an atomic write leaves behind). Returns how many were removed. */
int lm_clean_temps(const char *dir);

#endif
