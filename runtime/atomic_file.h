/* atomic_file.h — the one way netc writes a file: checkpoints, predictions,
 * emitted sources and plots all go through it.
 *
 * A file is written to a temporary file in the target's directory, named
 * "NAME.netc-tmp.PID.XXXXXX" so that a later netc recognises it; flushed,
 * fsynced, renamed over NAME, and the directory fsynced.  A reader sees the
 * old file or the new one, never a part of either, whatever happens to the
 * writing process or the machine; a write that fails (disk full, file-size
 * limit) leaves the old file as it was and no temporary file behind.
 * A symbolic link is kept: the file it points to is replaced.  A path that
 * is not a regular file (/dev/stdout, a FIFO) is written directly, as a
 * stream, errors still reported. */
#ifndef NETC_RUNTIME_ATOMIC_FILE_H
#define NETC_RUNTIME_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

/* The marker between a target's name and the writer's pid in the name of
 * its temporary files. */
#define RT_AF_TMP_MARK ".netc-tmp."

typedef struct rt_af rt_af;

/* Start writing path: first remove the temporary files of path that netc
 * processes no longer running left behind (a killed save's), then create
 * this one's.  Returns the writer, or NULL with a message naming path in
 * err (e.g. a missing directory). */
rt_af *rt_af_begin(const char *path, char *err, size_t errlen);

/* The stream to write the new contents to (binary; owned by the writer:
 * do not fclose it). */
FILE *rt_af_stream(rt_af *a);

/* Finish: flush, fsync and close the temporary file, rename it over the
 * target, fsync the directory.  Frees a.  Returns 0, or -1 with a message
 * naming the target and the system's reason in err ("x.csv: write failed:
 * No space left on device"), the temporary file removed and the target
 * untouched.  A write error on the stream before this is reported here. */
int rt_af_commit(rt_af *a, char *err, size_t errlen);

/* Record that a write to the stream failed with errnum (errno then), so
 * that rt_af_commit fails with that reason: stdio may lose it by the time
 * the stream is flushed.  The first error is kept. */
void rt_af_error(rt_af *a, int errnum);

/* Give up: remove the temporary file, keep the target.  Frees a (NULL
 * allowed). */
void rt_af_abort(rt_af *a);

/* Write the string text to path atomically (as begin, fputs, commit).
 * Returns 0, or -1 with a message in err. */
int rt_af_write_text(const char *path, const char *text, char *err, size_t errlen);

/* Take the advisory lock that says "a netc process is writing path": an
 * exclusive flock on "PATH.lock" (created when missing, and left in
 * place: removing a lock file races with the next writer).  Does not
 * wait.  Returns a handle for rt_af_unlock, or -1 with a message in err:
 * "x.safetensors: another netc process is writing this file (it holds
 * x.safetensors.lock)", or why the lock file cannot be made. */
int rt_af_lock(const char *path, char *err, size_t errlen);

/* Release a lock of rt_af_lock (a negative handle is ignored).  Exiting
 * releases it too. */
void rt_af_unlock(int handle);

/* Remove every file in path's directory named base(path) + suffix for
 * which stale(suffix, ctx) returns nonzero, e.g. the companions of a
 * checkpoint that an earlier save superseded.  Returns the number
 * removed (a directory that cannot be read removes nothing). */
int rt_af_sweep(const char *path, int (*stale)(const char *suffix, void *ctx), void *ctx);

/* Whether suffix, what follows a file's name in the name of another file,
 * is that of a temporary file of netc's (RT_AF_TMP_MARK "PID.XXXXXX")
 * whose writer is no longer running. */
int rt_af_stale_tmp(const char *suffix);

#endif
