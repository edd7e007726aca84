/* The one reader of each run-directory file: log.jsonl (train/log.h) and eval.json (eval/table.h),
 * on planted files: what is kept, what is replaced, what is refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "eval/table.h"
#include "io/npz.h"
#include "train/log.h"
#include "util/err.h"

static char dir[64];

static const char *plant(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void log_rules(void) {
    LmRunLog l;
    /* a missing log is empty */
    CHECK(lm_run_log_read("/nonexistent/log.jsonl", &l) == 0 && l.missing && l.n == 0);
    /* records in order, fields by kind, groups by key or label, a cut last line dropped */
    const char *p = plant("a.jsonl",
        "{\"kind\":\"train\",\"step\":50,\"trials\":200,\"wall\":1.5,\"loss\":2.5}\n"
        "{\"kind\":\"eval\",\"step\":100,\"trials\":400,\"wall\":3,\"loss\":1.25,\"mean\":0.5,\"metric\":\"last_step\","
        "\"groups\":{\"base\":0.75,\"int\":null,\"int+seq\":0.25}}\n"
        "{\"kind\":\"threshold\",\"step\":100,\"threshold\":0.5}\n"
        "{\"kind\":\"stop\",\"step\":100,\"reason\":\"max_steps\"}\n"
        "{\"kind\":\"train\",\"st");
    CHECK(lm_run_log_read(p, &l) == 0 && !l.missing && l.n == 4, "%s", lm_err_msg());
    if (l.n == 4) {
        CHECK(!strcmp(l.rec[0].kind, "train") && l.rec[0].step == 50 && l.rec[0].trials == 200 && l.rec[0].loss == 2.5);
        CHECK(isnan(l.rec[0].mean) && l.rec[0].wall == 1.5);
        const LmLogRecord *e = &l.rec[1];
        CHECK(e->mean == 0.5 && e->loss == 1.25 && !strcmp(e->metric, "last_step"));
        CHECK(e->group[LM_GROUP_BASE] == 0.75 && isnan(e->group[LM_GROUP_INT]) && isnan(e->group[LM_GROUP_SEQ]));
        CHECK(e->group[LM_GROUP_INTSEQ] == 0.25, "\"int+seq\" is the label of intseq");
        CHECK(l.rec[2].threshold == 0.5 && !strcmp(l.rec[3].reason, "max_steps") && l.rec[3].step == 100);
    }
    lm_run_log_free(&l);
    /* a resumed run repeating steps: the later records replace the earlier ones of their kind */
    p = plant("b.jsonl",
        "{\"kind\":\"train\",\"step\":50,\"loss\":3}\n{\"kind\":\"eval\",\"step\":100,\"mean\":0.1}\n"
        "{\"kind\":\"train\",\"step\":100,\"loss\":2}\n{\"kind\":\"train\",\"step\":150,\"loss\":1}\n"
        "{\"kind\":\"resume\",\"step\":100}\n{\"kind\":\"train\",\"step\":150,\"loss\":0.5}\n"
        "{\"kind\":\"eval\",\"step\":100,\"mean\":0.2}\n");
    CHECK(lm_run_log_read(p, &l) == 0 && l.n == 5, "n = %d", l.n);
    if (l.n == 5) {
        CHECK(l.rec[0].step == 50 && l.rec[1].step == 100 && !strcmp(l.rec[1].kind, "train"));
        CHECK(!strcmp(l.rec[2].kind, "resume") && l.rec[3].step == 150 && l.rec[3].loss == 0.5);
        CHECK(!strcmp(l.rec[4].kind, "eval") && l.rec[4].mean == 0.2, "the later eval at step 100 is kept");
    }
    lm_run_log_free(&l);
    /* a broken line that is not the last: refused, naming file and line */
    p = plant("c.jsonl", "{\"kind\":\"train\",\"step\":50}\nnot json\n{\"kind\":\"train\",\"step\":100}\n");
    CHECK(lm_run_log_read(p, &l) == -1 && strstr(lm_err_msg(), "c.jsonl:2"), "%s", lm_err_msg());
    CHECK(l.n == 0 && l.rec == NULL);
    p = plant("d.jsonl", "[1, 2]\n");
    CHECK(lm_run_log_read(p, &l) == 0 && l.n == 0, "an array as the only (last) line is a cut record");
    lm_run_log_free(&l);
}

static void eval_file_rules(void) {
    LmEvalFile *e = malloc(sizeof *e);
    CHECK(lm_eval_file_read("/nonexistent/eval.json", e) == 1);
    const char *p = plant("eval.json",
        "{\"metric\":\"strict_trial\",\"mean\":0.625,\"trials_per_task\":50,\"tasks\":["
        "{\"name\":\"go\",\"perf\":0.5,\"ci_low\":0.25,\"ci_high\":0.75},{\"name\":\"dlygointseq\",\"perf\":0.75}]}");
    CHECK(lm_eval_file_read(p, e) == 0, "%s", lm_err_msg());
    CHECK(!strcmp(e->metric, "strict_trial") && e->mean == 0.625 && e->trials == 50 && e->n == 2);
    CHECK(!strcmp(e->task[0].name, "go") && e->task[0].perf == 0.5 && e->task[0].ci_low == 0.25);
    CHECK(e->task[0].group == LM_GROUP_BASE && e->task[1].group == LM_GROUP_INTSEQ && isnan(e->task[1].ci_high));
    p = plant("bad1.json", "{\"mean\":0.5}");
    CHECK(lm_eval_file_read(p, e) == -1 && strstr(lm_err_msg(), "no \"tasks\" array"));
    p = plant("bad2.json", "{\"tasks\":[{\"name\":\"nosuchtask\",\"perf\":1}]}");
    CHECK(lm_eval_file_read(p, e) == -1 && strstr(lm_err_msg(), "no known task name"));
    p = plant("bad3.json", "{\"tasks\":[");
    CHECK(lm_eval_file_read(p, e) == -1 && strstr(lm_err_msg(), "bad3.json"));
    free(e);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/lmrnn_test_rundir_%d", (int)getpid());
    CHECK(lm_mkdir_p(dir) == 0);
    RUN(log_rules);
    RUN(eval_file_rules);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    CHECK(system(rm) == 0);
    return CHECK_DONE();
}
