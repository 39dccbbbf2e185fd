/* test_emit_names.c — what reaches the emitted C from outside cannot
 * break it: the rule for model names keeps the model's public symbols
 * (NAME_predict, NAME_params, ...) apart from every symbol of the kernels
 * embedded with them, the emitter's own symbols are netc_* (a prefix no
 * model may have), and paths appear only escaped, inside comments. */
#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/emit.h"

/* A model with every kind of emitted symbol: parameters, running
 * statistics (BatchNorm), a train statement for --train. */
static const char spec_text[] =
    "model q {\n"
    "    input (1, 6, 6)\n"
    "    layers Conv2d(1, 2, 3) -> BatchNorm2d(2) -> ReLU -> Flatten -> Linear(32, 3)\n"
    "    loss CrossEntropy\n"
    "    optimizer Adam(lr=0.01)\n"
    "    train epochs=1 batch=4 seed=1\n"
    "}\n";

/* The identifiers of C text (words of letters, digits and '_' not
 * starting with a digit), each once, NULL-terminated; the caller frees
 * the array and the strings. */
static char **identifiers(const char *text)
{
    size_t n = 0, cap = 1024;
    char **ids = malloc(cap * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (const char *s = text; *s;) {
        if (!isalpha((unsigned char)*s) && *s != '_') {
            s += isdigit((unsigned char)*s) ? strspn(s, "0123456789abcdefABCDEFxXuUlL.") : 1;
            continue;
        }
        const char *w = s;
        while (isalnum((unsigned char)*s) || *s == '_')
            s++;
        size_t len = (size_t)(s - w);
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strlen(ids[i]) == len && memcmp(ids[i], w, len) == 0;
        if (seen)
            continue;
        if (n + 1 == cap) {
            cap *= 2;
            ids = realloc(ids, cap * sizeof *ids);
            ck_assert_ptr_nonnull(ids);
        }
        ids[n++] = strndup(w, len);
    }
    ids[n] = NULL;
    return ids;
}

static void free_ids(char **ids)
{
    for (char **p = ids; *p; p++)
        free(*p);
    free(ids);
}

/* Emit plan p (with or without embedded weights) into one string: the
 * header, then the source. */
static char *emit_text(const comp_plan *p, int weights, const char *spec_path, const char *weights_path)
{
    static float zeros[1 << 12];
    ck_assert_uint_le(p->arena_size[COMP_ARENA_PARAM], sizeof zeros / sizeof *zeros);
    comp_emit_opts o = {0};
    o.spec_path = spec_path;
    o.train = 1;
    o.predict_batch = 2;
    if (weights) {
        o.weights = zeros;
        o.model_state = zeros;
        o.weights_path = weights_path;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(comp_emit(p, &o, f, f), 0);
    fclose(f);
    return text;
}

/* Every kernel symbol that ends as one of the model's public symbols does
 * (q_predict: "_predict") starts with a prefix the rule refuses as a model
 * name, so no model's symbol can be a kernel's; and no kernel symbol is
 * named netc_*, the emitter's own prefix. */
START_TEST(test_public_symbols_cannot_collide)
{
    comp_plan *p = tu_compile_text(spec_text);
    const char *kernels[] = {comp_emit_kernels_portable, comp_emit_kernels_blas};
    int suffixes = 0;
    for (int w = 0; w < 2; w++) {
        char *text = emit_text(p, w, "q.net", "q.safetensors");
        char **emitted = identifiers(text);
        for (int k = 0; k < 2; k++) {
            char **kids = identifiers(kernels[k]);
            for (char **e = emitted; *e; e++) {
                if (strncmp(*e, "netc_", 5) == 0) {
                    for (char **kid = kids; *kid; kid++)
                        ck_assert_msg(strcmp(*kid, *e) != 0, "the emitter's %s is also a kernel symbol", *e);
                    continue;
                }
                if (strncmp(*e, "q_", 2) != 0)
                    continue;
                const char *suffix = *e + 1; /* "_predict" */
                suffixes++;
                size_t sl = strlen(suffix);
                for (char **kid = kids; *kid; kid++) {
                    size_t kl = strlen(*kid);
                    if (kl <= sl || strcmp(*kid + kl - sl, suffix) != 0)
                        continue;
                    char prefix[256], why[256];
                    snprintf(prefix, sizeof prefix, "%.*s", (int)(kl - sl), *kid);
                    ck_assert_msg(comp_model_name_problem(prefix, why, sizeof why),
                                  "a model named '%s' would define %s, a symbol of the kernels", prefix, *kid);
                }
            }
            for (char **kid = kids; *kid; kid++)
                ck_assert_msg(strncmp(*kid, "netc_", 5) != 0, "kernel symbol %s has the emitter's prefix", *kid);
            free_ids(kids);
        }
        free_ids(emitted);
        free(text);
    }
    ck_assert_int_gt(suffixes, 20);
    tu_destroy(p);
}
END_TEST

/* The rule itself, at its edges. */
START_TEST(test_name_rule)
{
    char why[256], name[80];
    memset(name, 'a', 63);
    name[63] = 0;
    ck_assert_int_eq(comp_model_name_problem(name, why, sizeof why), 0);
    name[63] = 'a';
    name[64] = 0;
    ck_assert_int_eq(comp_model_name_problem(name, why, sizeof why), 1);
    ck_assert_str_eq(why, "model name has 64 characters; at most 63 are allowed (it prefixes the C symbols `netc emit` "
                          "writes)");
    static const char *const refused[] = {"_m", "rt", "rt_linear", "RT_softmax", "comp", "Comp_x", "gram_y",
                                          "NETC", "netc_forward", "9a"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        ck_assert_msg(comp_model_name_problem(refused[i], why, sizeof why), "'%s' is accepted", refused[i]);
    static const char *const accepted[] = {"m", "rtx", "compute", "netcx", "mnist_mlp", "conv_act", "M2"};
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++)
        ck_assert_msg(!comp_model_name_problem(accepted[i], why, sizeof why), "'%s' is refused: %s", accepted[i],
                      why);
}
END_TEST

/* Whether needle occurs in C text outside comments and string literals. */
static int in_code(const char *text, const char *needle)
{
    size_t nl = strlen(needle);
    for (const char *s = text; *s;) {
        if (s[0] == '/' && s[1] == '*') {
            const char *end = strstr(s + 2, "*/");
            ck_assert_ptr_nonnull(end);
            s = end + 2;
        } else if (s[0] == '/' && s[1] == '/') {
            s += strcspn(s, "\n");
        } else if (*s == '"' || *s == '\'') {
            char q = *s++;
            while (*s && *s != q)
                s += s[0] == '\\' && s[1] ? 2 : 1;
            ck_assert_int_eq(*s, q);
            s++;
        } else if (strncmp(s, needle, nl) == 0) {
            return 1;
        } else {
            s++;
        }
    }
    return 0;
}

/* Paths such as a directory named "x*" holding one named " int injected
 * = 1; " end no comment early, in NAME.h, NAME.c or `netc build`'s
 * program (whose spec name is also a string literal: quotes, backslashes
 * and a "?\?/" trigraph must stay inside it). */
START_TEST(test_paths_stay_in_comments)
{
    static const char evil[] = "x*/ int injected = 1; /*\n\\\"?\?/\"/m.net";
    comp_plan *p = tu_compile_text(spec_text);
    for (int w = 0; w < 2; w++) {
        char *text = emit_text(p, w, evil, evil);
        ck_assert_msg(strstr(text, "injected"), "the path is not shown at all");
        ck_assert_msg(!in_code(text, "injected"), "a path escaped its comment:\n%.600s", text);
        free(text);
    }
    char *prog = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&prog, &len);
    ck_assert_int_eq(comp_emit_program(p, evil, p->model->spec->src->text, f), 0);
    fclose(f);
    ck_assert_msg(!in_code(prog, "injected"), "a spec name escaped its comment or string:\n%.600s", prog);
    ck_assert_ptr_null(strstr(prog, "?\?/"));
    free(prog);
    tu_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("emit_names");
    TCase *tc = tcase_create("emit_names");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_public_symbols_cannot_collide);
    tcase_add_test(tc, test_name_rule);
    tcase_add_test(tc, test_paths_stay_in_comments);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
