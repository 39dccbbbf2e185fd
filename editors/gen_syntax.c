/* gen_syntax.c — writes the editor files and the name lists of netc.net(5)
 * from the catalog (compiler/catalog.def, acts.def, func.c), so that they
 * name exactly the layers, losses, optimizers, inits, schedules and
 * clippings netc accepts.  Run by `make syntax`; tests/install.sh checks
 * that the committed files are what it writes.
 *
 * usage: gen_syntax VIM_SYNTAX TEXTMATE_JSON MAN_TEMPLATE MAN_OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/args.h"
#include "compiler/catalog.h"

/* The keywords of grammar/lexer.l (its statement and literal rules). */
static const char *const keywords[] = {"model", "let", "input", "layers", "init", "loss", "optimizer",
                                       "train", "data", "schedule", "clip", "transform", "augment", "repeat"};
static const char *const constants[] = {"true", "false", "True", "False", "None", "inf"};
#define NKEYWORDS (int)(sizeof keywords / sizeof *keywords)
#define NCONSTANTS (int)(sizeof constants / sizeof *constants)

/* One highlighted group: its name in each editor and its words. */
typedef struct {
    const char *vim, *textmate, *title;
    const char *words[256];
    int n;
} group;

static void add_table(group *g, const comp_entry *table, int n)
{
    for (int i = 0; i < n; i++)
        g->words[g->n++] = table[i].name;
}

static int write_vim(const char *path, const group *groups, int ngroups)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "\" Vim syntax file for netc specs (.net).\n"
               "\" Generated from netc's catalog by editors/gen_syntax.c (make syntax): do not edit.\n"
               "if exists('b:current_syntax')\n  finish\nendif\n\n"
               "syn keyword netcTodo contained TODO FIXME XXX\n"
               "syn match netcComment \"#.*$\" contains=netcTodo\n"
               "syn region netcString start=+\"+ skip=+\\\\\\\\\\|\\\\\"+ end=+\"+ oneline\n"
               "syn match netcNumber \"\\<\\d\\+\\(\\.\\d*\\)\\=\\([eE][+-]\\=\\d\\+\\)\\=\\>\"\n"
               "syn match netcNumber \"\\.\\d\\+\\([eE][+-]\\=\\d\\+\\)\\=\\>\"\n"
               "syn match netcArrow \"->\"\n");
    for (int g = 0; g < ngroups; g++) {
        for (int i = 0; i < groups[g].n; i++) {
            if (i % 8 == 0)
                fprintf(f, "%ssyn keyword %s", i ? "\n" : "", groups[g].vim);
            fprintf(f, " %s", groups[g].words[i]);
        }
        fprintf(f, "\n");
    }
    static const char *const links[][2] = {
        {"netcKeyword", "Statement"}, {"netcConstant", "Boolean"}, {"netcLayer", "Type"},
        {"netcLoss", "Function"},     {"netcOptimizer", "Function"}, {"netcInit", "Identifier"},
        {"netcSchedule", "Function"}, {"netcClip", "Function"},    {"netcFunction", "Function"},
        {"netcComment", "Comment"},   {"netcTodo", "Todo"},        {"netcString", "String"},
        {"netcNumber", "Number"},     {"netcArrow", "Operator"},
    };
    fprintf(f, "\n");
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        fprintf(f, "hi def link %s %s\n", links[i][0], links[i][1]);
    fprintf(f, "\nlet b:current_syntax = 'netc'\n");
    return fclose(f);
}

static int write_textmate(const char *path, const group *groups, int ngroups)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\n  \"$comment\": \"Generated from netc's catalog by editors/gen_syntax.c (make syntax): do not edit.\",\n"
               "  \"name\": \"netc\",\n  \"scopeName\": \"source.netc\",\n  \"fileTypes\": [\"net\"],\n"
               "  \"patterns\": [\n"
               "    {\"name\": \"comment.line.number-sign.netc\", \"match\": \"#.*$\"},\n"
               "    {\"name\": \"string.quoted.double.netc\", \"begin\": \"\\\"\", \"end\": \"\\\"\",\n"
               "     \"patterns\": [{\"name\": \"constant.character.escape.netc\", \"match\": \"\\\\\\\\.\"}]},\n"
               "    {\"name\": \"constant.numeric.netc\", \"match\": \"(?<![A-Za-z_0-9])(\\\\d+\\\\.?\\\\d*|\\\\.\\\\d+)([eE][+-]?\\\\d+)?\"},\n"
               "    {\"name\": \"keyword.operator.arrow.netc\", \"match\": \"->\"}");
    for (int g = 0; g < ngroups; g++) {
        fprintf(f, ",\n    {\"name\": \"%s.netc\", \"match\": \"\\\\b(", groups[g].textmate);
        for (int i = 0; i < groups[g].n; i++)
            fprintf(f, "%s%s", i ? "|" : "", groups[g].words[i]);
        fprintf(f, ")\\\\b\"}");
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f);
}

/* The man page: the template with each @NAME@ replaced by its group's
 * words, comma-separated. */
static int write_man(const char *in, const char *out, const group *groups, int ngroups)
{
    FILE *fi = fopen(in, "r"), *fo = fopen(out, "w");
    char line[4096];
    if (!fi || !fo) {
        if (fi)
            fclose(fi);
        if (fo)
            fclose(fo);
        return -1;
    }
    while (fgets(line, sizeof line, fi)) {
        char *at = strchr(line, '@'), *end = at ? strchr(at + 1, '@') : NULL;
        int g = -1;
        for (int k = 0; end && k < ngroups; k++)
            if ((size_t)(end - at - 1) == strlen(groups[k].title) && strncmp(at + 1, groups[k].title, end - at - 1) == 0)
                g = k;
        if (g < 0) {
            fputs(line, fo);
            continue;
        }
        fprintf(fo, "%.*s", (int)(at - line), line);
        for (int i = 0; i < groups[g].n; i++)
            fprintf(fo, "%s%s", i ? (g == 0 ? " " : ", ") : "", groups[g].words[i]);
        fputs(end + 1, fo);
    }
    fclose(fi);
    return fclose(fo);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: gen_syntax VIM_SYNTAX TEXTMATE_JSON MAN_TEMPLATE MAN_OUT\n");
        return 2;
    }
    static group groups[] = {
        {"netcKeyword", "keyword.control", "KEYWORDS", {0}, 0},
        {"netcConstant", "constant.language", "CONSTANTS", {0}, 0},
        {"netcLayer", "entity.name.type.layer", "LAYERS", {0}, 0},
        {"netcLoss", "support.function.loss", "LOSSES", {0}, 0},
        {"netcOptimizer", "support.function.optimizer", "OPTIMIZERS", {0}, 0},
        {"netcInit", "support.function.init", "INITS", {0}, 0},
        {"netcSchedule", "support.function.schedule", "SCHEDULES", {0}, 0},
        {"netcClip", "support.function.clip", "CLIPS", {0}, 0},
        {"netcFunction", "support.function.builtin", "FUNCTIONS", {0}, 0},
    };
    int ng = (int)(sizeof groups / sizeof *groups);
    for (int i = 0; i < NKEYWORDS; i++)
        groups[0].words[groups[0].n++] = keywords[i];
    for (int i = 0; i < NCONSTANTS; i++)
        groups[1].words[groups[1].n++] = constants[i];
    add_table(&groups[2], comp_layers, COMP_LAYER_COUNT);
    add_table(&groups[3], comp_losses, COMP_LOSS_COUNT);
    add_table(&groups[4], comp_optims, COMP_OPTIM_COUNT);
    add_table(&groups[5], comp_inits, COMP_INIT_COUNT);
    add_table(&groups[6], comp_scheds, COMP_SCHED_COUNT);
    add_table(&groups[7], comp_clips, COMP_CLIP_COUNT);
    for (int i = 0; i < comp_nfuncs; i++)
        groups[8].words[groups[8].n++] = comp_funcs[i].entry.name;
    if (write_vim(argv[1], groups, ng) != 0 || write_textmate(argv[2], groups, ng) != 0 ||
        write_man(argv[3], argv[4], groups, ng) != 0) {
        perror("gen_syntax");
        return 1;
    }
    return 0;
}
