/* compare.h — `netc compare`: one model trained with several optimizers
 * from the same initial weights, a table of the results and the cost
 * curves as an SVG plot. */
#ifndef NETC_COMPILER_COMPARE_H
#define NETC_COMPILER_COMPARE_H

#include <stddef.h>
#include <stdio.h>

#include "../runtime/data.h"
#include "plan.h"

/* Split a comma-separated list of optimizer calls in place, at the commas
 * that are outside parentheses and strings ("SGD(lr=0.1, momentum=0.9),Adam"
 * is two items), trimming white space.  Stores up to max item pointers
 * into items and returns their number; returns -1 with a message in err
 * for an empty item, unbalanced parentheses or an unterminated string, or
 * more than max items. */
int comp_split_optimizers(char *list, char **items, int max, char *err, size_t errlen);

/* The text of src with the optimizer call of model m (its name and, when
 * present, its parenthesised arguments, which may span lines and hold
 * comments) replaced by call.  Returns a malloc'd string, or NULL when out
 * of memory.  m must have been checked from src. */
char *comp_replace_optimizer(const gram_source *src, const comp_model *m, const char *call);

typedef struct {
    const comp_plan *base;          /* the spec as written: its parameters start every run */
    const char *spec_path;          /* named in diagnostics about an optimizer's text */
    char **optims;                  /* optimizer calls; "all" stands for every catalog entry */
    int noptims;
    const rt_dataset *train, *test; /* test may be NULL */
    int onehot, test_onehot;        /* as rt_train / rt_evaluate take them */
    int epochs, batch, shuffle;
    unsigned long long seed;
    double target;                  /* target cost; <= 0: twice the lowest final cost */
    const char *plot;               /* SVG file to write, or NULL */
    FILE *out;                      /* the table */
} comp_compare_opts;

/* Compile the spec once per optimizer (the usual diagnostics for a text
 * that does not compile; a catalog entry from "all" that this model
 * rejects is skipped with a note), initialise the parameters once from
 * the seed, train a copy of them with each optimizer, evaluate it on the
 * test set, then print the table and write the plot.  Returns the exit
 * status: 0, or 1 after reporting a problem. */
int comp_compare(const comp_compare_opts *o);

#endif
