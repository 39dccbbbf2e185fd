/* interrupt.c — see interrupt.h. */
/* SA_RESTART and SA_RESETHAND are XSI. */
#define _XOPEN_SOURCE 700
#include "interrupt.h"

#include <signal.h>
#include <string.h>

/* The signal caught, written by the handler and read between batches. */
static volatile sig_atomic_t caught;

static struct sigaction saved_int, saved_term;
static int installed;

static void on_signal(int signo)
{
    caught = signo;
}

/* Catch signo unless it was ignored; *old gets what was there. */
static void catch(int signo, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* Restarted system calls: a signal must not fail a read or a write
     * of the batch being finished.  Reset to the default once caught. */
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    if (sigaction(signo, NULL, old) == 0 && old->sa_handler != SIG_IGN)
        sigaction(signo, &sa, NULL);
}

void rt_interrupt_install(void)
{
    caught = 0;
    catch(SIGINT, &saved_int);
    catch(SIGTERM, &saved_term);
    installed = 1;
}

void rt_interrupt_restore(void)
{
    if (installed) {
        sigaction(SIGINT, &saved_int, NULL);
        sigaction(SIGTERM, &saved_term, NULL);
        installed = 0;
    }
    caught = 0;
}

int rt_interrupt_signal(void)
{
    return (int)caught;
}

void rt_interrupt_raise(int signo)
{
    caught = signo;
}
