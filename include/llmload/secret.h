/*
 * secret.h - the run's secrets and keeping them out of text (config -> client/discover -> record).
 *
 * The secrets are the API key, the target URL's credentials (user:password, as given and
 * percent-decoded, and the base64 of Basic auth) and --header values. A server that echoes the
 * request's headers in its error message would otherwise put them into report.json,
 * requests.csv, report.html and the console: every stored or printed server text goes through
 * secret_redact first. Invariant: every copy a secret_set holds is wiped when it is destroyed.
 */
#ifndef LLMLOAD_SECRET_H
#define LLMLOAD_SECRET_H

#include <stddef.h>

#include "llmload/config.h"

typedef struct secret_set secret_set;

/* Shorter secrets are not searched for: they would blank out ordinary words. */
#define SECRET_MIN_LEN 4

/* The secrets of cfg (borrowed only during the call). *out owned by caller: secret_set_destroy.
 * Returns 0 or LL_ENOMEM. A config with no secret gives an empty set. */
int secret_set_create(secret_set **out, const config *cfg);
void secret_set_destroy(secret_set *s);

/* Replaces every occurrence of a secret in text (NUL-terminated, in a buffer of cap bytes) with
 * "<redacted>", and a secret's first bytes when the text ends in them (a message cut by a length
 * limit); the result is truncated to cap. NULL s does nothing. Returns the new length. */
size_t secret_redact(const secret_set *s, char *text, size_t cap);

/* "Basic <base64(user:password)>" from url's credentials, percent-decoded as curl does, into *out
 * (ownership moves to caller: secret_free), or *out = NULL when the URL has none. Returns 0,
 * LL_ENOMEM or LL_EUSAGE (not a URL). */
int secret_basic_auth(const char *url, char **out);

/* Wipes and frees a string that held a secret (NULL is fine). */
void secret_free(char *p);

#endif
