/* model_name.c — the one rule for what a model may be called.  The name
 * prefixes every public symbol of the C that `netc emit` writes (NAME_predict,
 * NAME_params, NAME_INPUT_SIZE, ...) and names its files, so `netc check`
 * refuses any name that could not be used there: the emitter then never
 * fails on one, nor writes C that does not compile. */
#include "model.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Prefixes of netc's own symbols, which the kernels embedded in emitted C
 * use (rt_linear_forward, COMP_ACT_RELU, NETC_NOINLINE, netc_forward):
 * a model named after one of them, or starting with one and '_', could
 * collide with them.  tests/test_emit.c checks that every kernel symbol
 * ending like a public symbol of the model starts with one of these. */
static const char *const reserved[] = {"rt", "comp", "gram", "netc"};

int comp_model_name_problem(const char *name, char *why, size_t size)
{
    size_t len = strlen(name);
    if (len > COMP_MAX_MODEL_NAME) {
        snprintf(why, size, "model name has %zu characters; at most %d are allowed (it prefixes the C symbols "
                            "`netc emit` writes)", len, COMP_MAX_MODEL_NAME);
        return 1;
    }
    /* C reserves identifiers that begin with an underscore (at file scope). */
    if (!isalpha((unsigned char)name[0])) {
        snprintf(why, size, "model name '%s' must start with a letter (it prefixes the C symbols `netc emit` "
                            "writes)", name);
        return 1;
    }
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_') {
            snprintf(why, size, "model name '%s' must be letters, digits and '_'", name);
            return 1;
        }
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
        size_t k = strlen(reserved[i]);
        if (strncasecmp(name, reserved[i], k) == 0 && (name[k] == '\0' || name[k] == '_')) {
            snprintf(why, size, "model name '%s' is reserved: names '%s' and '%s_...' (in any case) are netc's "
                                "own symbols in the C it emits", name, reserved[i], reserved[i]);
            return 1;
        }
    }
    return 0;
}
