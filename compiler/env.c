/* env.c — the let constants of a spec: values by name, found in O(1), so
 * that checking time stays linear in the number of lets. */
#include "args.h"

#include <stdlib.h>
#include <string.h>

uint64_t comp_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t slot_of(const comp_env *env, const char *name)
{
    return (size_t)comp_fnv1a(COMP_FNV1A_INIT, name, strlen(name)) & (size_t)(env->nslots - 1);
}

const comp_let *comp_env_find(const comp_env *env, const char *name)
{
    if (env->nslots == 0)
        return NULL;
    for (size_t i = slot_of(env, name);; i = (i + 1) & (size_t)(env->nslots - 1)) {
        int k = env->slots[i];
        if (k == 0)
            return NULL;
        if (strcmp(env->lets[k - 1].name, name) == 0)
            return &env->lets[k - 1];
    }
}

/* Rebuild the table with nslots slots (a power of two > nlets). */
static int rehash(comp_env *env, int nslots)
{
    int *slots = calloc((size_t)nslots, sizeof *slots);
    if (!slots)
        return -1;
    free(env->slots);
    env->slots = slots;
    env->nslots = nslots;
    for (int k = 0; k < env->nlets; k++) {
        size_t i = slot_of(env, env->lets[k].name);
        while (slots[i])
            i = (i + 1) & (size_t)(nslots - 1);
        slots[i] = k + 1;
    }
    return 0;
}

int comp_env_add(comp_env *env, const comp_let *let)
{
    /* The parser's source bound (GRAM_MAX_SOURCE) keeps the count far
     * below INT_MAX / 4: a let takes more than 8 bytes of text. */
    if (env->nlets == env->cap) {
        int cap = env->cap ? 2 * env->cap : 16;
        comp_let *p = realloc(env->lets, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        env->lets = p;
        env->cap = cap;
    }
    /* At most half full, so probes stay short. */
    if (2 * (env->nlets + 1) > env->nslots && rehash(env, env->nslots ? 2 * env->nslots : 32) != 0)
        return -1;
    env->lets[env->nlets] = *let;
    size_t i = slot_of(env, let->name);
    while (env->slots[i])
        i = (i + 1) & (size_t)(env->nslots - 1);
    env->slots[i] = ++env->nlets;
    return 0;
}

void comp_env_free(comp_env *env)
{
    free(env->lets);
    free(env->slots);
    env->lets = NULL;
    env->slots = NULL;
    env->nlets = env->cap = env->nslots = 0;
}
