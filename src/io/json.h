/* JSON files through cJSON (a small, widely packaged C JSON library). */
#ifndef LMRNN_JSON_H
#define LMRNN_JSON_H
#include <cjson/cJSON.h>

/* Serialise (pretty) and write atomically. 0 or -1 with lm_err_set(). */
int lm_json_write(const char *path, const cJSON *doc);
/* Parse a whole file. NULL with lm_err_set() naming the file and the position of a syntax error. */
cJSON *lm_json_read(const char *path);
/* Append one compact line to a JSON-lines log (open, write, fsync, close). 0 or -1. */
int lm_jsonl_append(const char *path, const cJSON *record);
/* Call fn on every line of a JSON-lines file that parses as an object (other lines are skipped: a log
 * cut by a crash may end in a partial line). fn returns non-zero to stop early. 0, or -1 if the file
 * cannot be opened. */
int lm_jsonl_foreach(const char *path, int (*fn)(const cJSON *record, void *ctx), void *ctx);

#endif
