/* lmrnn analyze: look inside a trained network (docs/analysis.md). Subcommands states, summary,
 * fixedpoints, variance, lesion, autapse; the analyses live in src/analysis/ and their files in
 * src/report/analyze_run.c: this file parses the command line. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "report/analyze_run.h"
#include "util/err.h"
#include "util/options.h"

static void usage(FILE *f) {
    fputs("usage: lmrnn analyze SUBCOMMAND RUN [options]   (RUN: a run directory or checkpoint)\n\n", f);
    for (int s = 0; s < lm_n_analyses; s++) fprintf(f, "  %-12s %s\n", lm_analyses[s].name, lm_analyses[s].what);
    fputs("\nRun `lmrnn analyze SUBCOMMAND --help` for its options; definitions in docs/analysis.md.\n", f);
}

int lm_cmd_analyze(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? LM_EXIT_USAGE : LM_EXIT_OK;
    }
    const int sub = lm_analysis_bit(argv[0]);
    if (!sub) {
        fprintf(stderr, "lmrnn: analyze: unknown subcommand '%s' (expected states, summary, fixedpoints, variance, "
                        "lesion or autapse)\n", argv[0]);
        return LM_EXIT_USAGE;
    }
    LmOption buf[LM_AN_MAX_OPTS];
    char command[64];
    LmOptTable table = lm_analyze_table(sub, buf, command, sizeof command);
    LmAnalyzeOptions o;
    lm_analyze_defaults(&o);
    LmOptScan scan;
    if (lm_opts_parse(&table, &o, argc - 1, argv + 1, 1, &scan) != 0) return lm_opts_fail(command, LM_EXIT_USAGE);
    if (scan.help) {
        for (int s = 0; s < lm_n_analyses; s++)
            if (lm_analyses[s].bit == sub)
                printf("usage: lmrnn analyze %s RUN [options]\n%s\n\noptions:\n", lm_analyses[s].name, lm_analyses[s].what);
        lm_opts_print_help(stdout, &table);
        return LM_EXIT_OK;
    }
    if (scan.n_pos != 1) {
        fprintf(stderr, "lmrnn: %s: a run directory or checkpoint is required (see --help)\n", command);
        return LM_EXIT_USAGE;
    }
    o.have_seed = lm_opts_given(&scan, "seed");
    const char *path = scan.pos[0];
    int rc;
    lm_set_threads(o.threads);
    LmTrained run;
    if (lm_trained_load(path, &run) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        return 1;
    }
    rc = lm_analyze_run(sub, &run, &o, stdout);
    rc = rc == LM_AN_OK ? LM_EXIT_OK : rc == LM_AN_USAGE ? LM_EXIT_USAGE : LM_EXIT_FAILED;
    if (rc) fprintf(stderr, "lmrnn: analyze %s: %s\n", argv[0], lm_err_msg());
    lm_trained_free(&run);
    return rc;
}
