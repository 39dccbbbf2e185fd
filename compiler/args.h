/* args.h — evaluating spec expressions and matching call arguments to a
 * catalog schema.  Shared by layers, losses, optimizers, inits and the
 * train statement so that every call reports problems the same way. */
#ifndef NETC_COMPILER_ARGS_H
#define NETC_COMPILER_ARGS_H

#include "model.h"

/* An evaluated expression. */
typedef enum { COMP_V_NUM, COMP_V_BOOL, COMP_V_STR, COMP_V_TUPLE, COMP_V_NAME, COMP_V_CALL } comp_vkind;
typedef struct {
    comp_vkind kind;
    double num[COMP_MAX_RANK];   /* NUM/BOOL: num[0]; TUPLE: its numbers */
    int is_int;                  /* NUM: integral value; TUPLE: all integral */
    int n;                       /* TUPLE: number of items */
    const char *str;             /* STR, NAME, CALL */
    const gram_expr *expr;       /* the expression (CALL: its args) */
} comp_value;

/* A `let` constant: a name bound to the value its expression had where it
 * was defined, evaluated once (a reference copies the value: no chain of
 * lets is ever re-evaluated, so neither time nor stack grows with it). */
typedef struct {
    const char *name;
    gram_loc loc;
    const gram_expr *def; /* the expression the value came from, through
                           * lets naming lets (a list argument reads a
                           * tuple's items from it) */
    comp_value value;
    int ok;               /* 0: its definition had an error, already
                           * reported; uses of it report nothing more */
} comp_let;

/* The evaluation environment: the lets defined so far, with a hash table
 * of their names (open addressing: slots[] holds let index + 1, 0 empty). */
typedef struct {
    gram_source *src;
    comp_let *lets;
    int nlets, cap;
    int *slots;
    int nslots;           /* a power of two, at least twice nlets */
} comp_env;

/* The let named name, or NULL.  O(1) expected. */
const comp_let *comp_env_find(const comp_env *env, const char *name);

/* Add let (its name must not be defined yet: comp_env_find first).
 * Returns 0, or -1 when memory runs out (nothing is added then). */
int comp_env_add(comp_env *env, const comp_let *let);

/* Free the lets and the table of env (not env itself, nor src). */
void comp_env_free(comp_env *env);

/* Evaluate e: numbers with + - * / and unary -, tuples of numbers, strings,
 * booleans, calls of the functions of func.c (calculate_gain); a name
 * bound by `let` evaluates to its value, any other name stays a
 * COMP_V_NAME for the caller to interpret (an init name).  Init calls such
 * as normal(std=1) are not evaluated here: init arguments are resolved by
 * comp_resolve_init_expr.  Reports errors (division by zero, arithmetic on
 * a string, an unknown function, ...) and returns 0. */
int comp_eval(comp_env *env, const gram_expr *e, comp_value *out);

/* Whether v is Python's None (the name None): a value only where torch's
 * default for an argument is None (comp_arg_spec.none_is_default), and
 * a `let` may name it. */
int comp_value_is_none(const comp_value *v);

/* A function a spec may call where a value is written, e.g.
 * calculate_gain("tanh"): its name and argument schema (matched by
 * comp_match_args) and what computes its value from the matched
 * arguments.  eval reports its own errors at call's locations. */
typedef struct comp_func {
    comp_entry entry;
    int (*eval)(comp_env *env, const comp_entry *entry, const gram_expr *call, const comp_args *args,
                comp_value *out);
} comp_func;

/* Every function, in the order "valid functions" notes list them. */
extern const comp_func comp_funcs[];
extern const int comp_nfuncs;

/* Evaluate the call expression e (kind GRAM_EXPR_CALL) as a function of
 * comp_funcs: match its arguments, then compute.  An unknown name is
 * reported with the nearest function and the list of valid ones (an init
 * name gets a note saying where inits go).  Returns 0 on error. */
int comp_eval_call(comp_env *env, const gram_expr *e, comp_value *out);

/* Match args[0..nargs) of a call to entry's schema: positional then named,
 * no unknown, duplicate or missing argument, each of the right type and in
 * range.  `what` names the callee in messages ("Linear", "Adam",
 * "train").  Fills out->num/str with the values or the defaults.  init
 * arguments (COMP_T_INIT) are returned through init_expr/init_slot (NULL if
 * not given).  Returns 0 when any error was reported. */
int comp_match_args(comp_env *env, const comp_entry *entry, const char *what, gram_loc call_loc,
                    const gram_arg *args, int nargs, comp_args *out, const gram_expr **init_expr);

/* Resolve an init given as a name or a call expression (init=normal(std=1))
 * or as a statement call (init normal(std=1)).  Returns 0 on error. */
int comp_resolve_init_expr(comp_env *env, const gram_expr *e, comp_init *out);
int comp_resolve_init_call(comp_env *env, const gram_call *call, comp_init *out);

#endif
