/* interrupt.h — SIGINT and SIGTERM during training: rather than dying
 * with the work since the last checkpoint, the run finishes its batch,
 * saves and exits (rt_train polls rt_interrupt_signal between batches). */
#ifndef NETC_RUNTIME_INTERRUPT_H
#define NETC_RUNTIME_INTERRUPT_H

/* Catch SIGINT and SIGTERM: the first one is only recorded; the handler
 * then gives way to the default action, so that a second signal ends the
 * process at once (a stuck save can still be killed).  A signal that was
 * ignored when the process started (nohup, a background job of a
 * non-interactive shell) stays ignored.  Undo with rt_interrupt_restore. */
void rt_interrupt_install(void);

/* Put the handlers rt_interrupt_install found back; a signal caught and
 * not acted on is forgotten. */
void rt_interrupt_restore(void);

/* The signal caught since rt_interrupt_install (SIGINT or SIGTERM), or 0.
 * Safe to call from any thread. */
int rt_interrupt_signal(void);

/* Record signal signo as the handler does (tests stop a run this way at a
 * chosen batch). */
void rt_interrupt_raise(int signo);

#endif
