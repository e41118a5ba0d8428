/*
 * sim_reqlog.c - the simulator's request log (sim_reqlog.h): one JSON line per completion request.
 * It parses the body a second time with cJSON for the model and the message count; that cost is
 * paid only with --request-log, which is a debugging and testing aid, not a load setting.
 */
#include "sim_reqlog.h"

#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>
#include "llmload/clock.h"

int sim_reqlog_open(const char *path, FILE **out)
{
    FILE *f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "llmload sim: --request-log %s: %s\n", path, strerror(errno));
        return -1;
    }
    *out = f;
    return 0;
}

void sim_reqlog_write(FILE *f, enum sim_api_kind kind, const char *body, size_t len, const sim_api_request *req)
{
    if (!f)
        return;
    long messages = -1;
    char model[256] = "";
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (j) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "messages");
        if (cJSON_IsArray(m))
            messages = cJSON_GetArraySize(m);
        const cJSON *mo = cJSON_GetObjectItemCaseSensitive(j, "model");
        if (cJSON_IsString(mo)) {
            /* Re-escaped by cJSON, so the line stays valid JSON whatever the name holds. */
            char *s = cJSON_PrintUnformatted(mo);
            if (s && strlen(s) < sizeof model)
                snprintf(model, sizeof model, "%s", s);
            cJSON_free(s);
        }
        cJSON_Delete(j);
    }
    fprintf(f, "{\"t\":%.6f,\"api\":\"%s\",\"model\":%s,\"messages\":%ld,\"prompt_tokens\":%llu,"
               "\"cached_tokens\":%llu,\"body\":",
            clock_wall_s(), kind == SIM_API_CHAT ? "chat" : "completions", model[0] ? model : "null", messages,
            (unsigned long long)req->prompt_tokens, (unsigned long long)req->cached_tokens);
    fwrite(body, 1, len, f);
    fputs("}\n", f);
    fflush(f);
}
